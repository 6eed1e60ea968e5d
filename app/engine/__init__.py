"""The pure rules engine: YAML -> compiled RuleSet -> evaluate(facts, as_of).

Imports nothing from Flask, SQLAlchemy, WeasyPrint or aiortc; takes the date as an argument.
"""
