"""The pure rules engine: YAML -> compiled RuleSet -> evaluate(facts, as_of).

Imports nothing from Flask, SQLAlchemy, WeasyPrint or aiortc; takes the date as an argument.
"""

from app.engine.errors import FactValueError, LoadError, Problem
from app.engine.evaluate import evaluate
from app.engine.facts import FactDef, parse_fact_value
from app.engine.loader import load
from app.engine.model import RuleSet
from app.engine.result import Result

__all__ = [
    "FactDef",
    "FactValueError",
    "LoadError",
    "Problem",
    "Result",
    "RuleSet",
    "evaluate",
    "load",
    "parse_fact_value",
]
