"""Load procedure_rules/ and form_definitions/: read, validate, compile; report every problem.

Each problem reads ``file:line:column: <what> '<id>': <what is wrong> (<how to fix>)``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from pathlib import Path

from app.engine.build_basics import BasicsBuilder
from app.engine.build_facts import FactsBuilder
from app.engine.build_forms import FormsBuilder
from app.engine.build_procedures import ProceduresBuilder
from app.engine.build_scenarios import ScenariosBuilder
from app.engine.compiler import Compiler, FactInfo, Scope, Symbols
from app.engine.errors import LoadError, Problem, did_you_mean
from app.engine.facts import FactDef
from app.engine.loader_base import municipality_code_valid, rule_files, yaml_files
from app.engine.model import (
    Form,
    RuleSet,
)
from app.engine.types import BOOL, NUM, TEXT

__all__ = ["load", "municipality_code_valid", "yaml_files"]
from app.engine.loader_base import _PARAM_TYPES, _cycles, _fact_ty


class _Loader(BasicsBuilder, FactsBuilder, ProceduresBuilder, FormsBuilder, ScenariosBuilder):
    """Read every document of a rule set and build each kind from it."""


def load(paths: Iterable[str | Path]) -> RuleSet:
    """Load, check and compile a rule set from folders/files of YAML.

    :raises LoadError: every problem found, each with file:line:column, id, what and fix.
    """
    # Loading allocates hundreds of thousands of small, acyclic objects (YAML nodes, AST
    # nodes, closures). With the cyclic GC on, its full collections rescan the growing heap
    # again and again and load time grows faster than the rule set; pausing it for the
    # load keeps it linear. It is switched back on even when the load fails.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _load(list(paths))
    finally:
        if enabled:
            gc.enable()


def _load(paths: list[str | Path]) -> RuleSet:
    """Load without touching the garbage collector (see ``load``)."""
    loader = _Loader()
    files = rule_files(paths)
    if not files:
        raise LoadError(
            [
                Problem(
                    ", ".join(Path(p).name for p in paths) or ".",
                    1,
                    1,
                    "ルール",
                    "YAMLファイルが見つかりません",
                    "procedure_rules/ と form_definitions/ を指定します",
                )
            ]
        )
    version = loader.read(files)
    loader.laws()
    muni = loader.municipality()
    roles = loader.roles()
    titles = loader.event_titles()
    facts, derives = loader.facts(titles, roles)

    symbols = Symbols(
        case_facts={},
        person_facts={},
        single_roles={r.id for r in roles.values() if r.single},
        roles=set(roles),
        params={},
        muni={
            k: (BOOL if isinstance(v, bool) else NUM if isinstance(v, int) else TEXT)
            for k, v in muni.options.items()
        },
    )
    for fact in facts.values():
        info = FactInfo(fact.id, fact.per_person, _fact_ty(fact), fact.derived, fact.label)
        (symbols.person_facts if fact.per_person else symbols.case_facts)[fact.id] = info
    params = loader.parameters()
    symbols.params = {pid: _PARAM_TYPES[p.type] for pid, p in params.items()}
    compiler = Compiler(symbols)

    # Derived facts: compile each, check its declared type, then refuse dependency cycles.
    graph: dict[str, set[str]] = {}
    for fid, (item, ident) in derives.items():
        fact = facts[fid]
        scope = Scope(self_slot=0) if fact.per_person else Scope()
        compiled = loader.compile(compiler, item, "derive", ident, _fact_ty(fact), scope)
        if compiled is None:
            continue
        fact.derive = compiled
        symbols.derive_fns[fid] = compiled.fn
        graph[fid] = {ref for ref in compiled.facts if ref in derives}
    for cycle in _cycles(graph):
        item, ident = derives[cycle[0]]
        loader.problem(
            item.where("derive"),
            f"事実 '{cycle[0]}'",
            f"派生事実が互いに依存しています: {' → '.join(cycle)}",
            "どれか1つを入力された事実から計算するようにします",
        )

    events = loader.events(compiler)
    procedures, form_refs = loader.procedures(compiler, muni, events)
    forms = loader.forms(compiler, muni, facts)

    for fid, positions in form_refs.items():
        if fid not in forms:
            for pos, ident in positions:
                loader.problem(
                    pos,
                    ident,
                    f"不明な様式 '{fid}'",
                    did_you_mean(fid, forms) or f"form_definitions/{fid}.yaml を作ります",
                )
    for fid, form in forms.items():
        if fid not in form_refs:
            loader.problem(
                form.pos,
                f"様式 '{fid}'",
                "この様式を作る手続がありません",
                f"手続の forms: に書くか、{fid}.yaml を削除します",
            )

    _check_askable(loader, forms, facts)
    scenarios = loader.scenarios(procedures, forms, facts)
    if loader.problems:
        raise LoadError(loader.problems)
    return RuleSet(
        muni,
        roles,
        facts,
        params,
        events,
        tuple(procedures),
        forms,
        tuple(scenarios),
        version,
        symbols,
        tuple(str(f) for f, _ in files),
        muni.calendar,
        tuple(sorted(set(loader.warnings))),
    )


def _check_askable(loader: _Loader, forms: dict[str, Form], facts: dict[str, FactDef]) -> None:
    """Refuse form fields that need a fact which is neither asked nor derivable (``ask: false``)."""
    memo: dict[str, bool] = {}

    def obtainable(fid: str, trail: frozenset[str] = frozenset()) -> bool:
        if fid in memo:
            return memo[fid]
        fact = facts.get(fid)
        if fact is None or fid in trail:
            return True
        if fact.derive is not None:
            ok = all(obtainable(ref, trail | {fid}) for ref in fact.derive.facts if ref in facts)
        else:
            ok = fact.ask
        memo[fid] = ok
        return ok

    for form in forms.values():
        groups = [(f, "") for f in form.fields] + [
            (f, f"{r.id}.") for r in form.rows for f in r.fields
        ]
        for fdef, prefix in groups:
            if not fdef.required:
                continue
            for ref in sorted(fdef.value.facts):
                if ref in facts and not obtainable(ref):
                    loader.problem(
                        fdef.pos,
                        f"様式 '{form.id}' の欄 '{prefix}{fdef.id}'",
                        f"事実 '{ref}' は尋ねることも（ask: false）計算することもできません",
                        "事実の ask: false を外すか、derive で計算するか、欄を必須でなくします",
                    )
