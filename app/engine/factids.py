"""The grammar of ids: rule ids, case fact ids (``death.date``), person keys
(``household[2].name``) and scenario form-field keys, with parse and format helpers.

The one home of these patterns: the loader, the evaluator, the ruleset, the scenario runner
and the interview service all read ids through this module, so they cannot drift apart.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: Ids remembered parsed: the evaluator and the interview screen split the same few hundred
#: fact ids hundreds of times per answer. Bounded, since some ids come from requests.
PARSED_IDS = 4096

#: A rule id: an event, procedure, form, role, parameter or per-person fact name.
ID = re.compile(r"^[a-z][a-z0-9_]*$")
#: A case fact id: ``<group>.<name>``, e.g. ``death.date``.
CASE_FACT_ID = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
#: A fact of one household member: ``household[<n>].<fact>``, e.g. ``household[2].name``.
#: The index is written without leading zeros, so that ``household[01]`` cannot stand
#: beside ``household[1]`` as a second name for the same member.
PERSON_KEY = re.compile(r"^household\[(0|[1-9]\d*)\]\.([a-z][a-z0-9_]*)$")
#: A person key whose index has leading zeros (refused, with the canonical form as a hint).
PADDED_PERSON_KEY = re.compile(r"^household\[0+(\d+)\]\.([a-z][a-z0-9_]*)$")
#: The prefix of a person key, whatever follows it.
PERSON_PREFIX = re.compile(r"^household\[\d+\]\.")
#: A field of a produced form in a scenario: ``<form>.<field>`` or ``<form>.<rows>[n].<field>``.
FIELD_KEY = re.compile(
    r"^(?P<form>[a-z0-9_]+(?:\[\d+\])?)\.(?:(?P<row>[a-z0-9_]+)\[(?P<n>\d+)\]\.)?(?P<field>[a-z0-9_]+)$"
)


def is_rule_id(text: str) -> bool:
    """Tell whether ``text`` is a well-formed rule id (lower case, digits, underscores)."""
    return ID.match(text) is not None


def is_case_fact_id(text: str) -> bool:
    """Tell whether ``text`` is a well-formed case fact id such as ``death.date``."""
    return CASE_FACT_ID.match(text) is not None


@lru_cache(maxsize=PARSED_IDS)
def parse_person_key(key: str) -> tuple[int, str] | None:
    """Return (member index, fact name) of ``household[2].name``, or None for any other text."""
    match = PERSON_KEY.match(key)
    if match is None:
        return None
    return int(match[1]), match[2]


@lru_cache(maxsize=PARSED_IDS)
def split_fact_id(fact_id: str) -> tuple[int | None, str]:
    """Split ``household[2].name`` into (2, 'name'); a case fact gives (None, its id)."""
    parsed = parse_person_key(fact_id)
    if parsed is None:
        return None, fact_id
    return parsed


def person_key(index: int, fact: str) -> str:
    """Return the fact id of ``fact`` for the household member at ``index``."""
    return f"household[{index}].{fact}"


def strip_person_prefix(key: str) -> tuple[bool, str]:
    """Return (is per person, the fact name) of a scenario key, with ``household[n].`` removed."""
    per_person = PERSON_PREFIX.match(key) is not None
    return per_person, PERSON_PREFIX.sub("", key, count=1)
