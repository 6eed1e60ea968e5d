"""The resident registry adapter: what the counter needs from a 住民基本台帳 system.

The counter looks a resident up and prefills (and locks) the case's facts from the answer.
Any registry — the seeded demo table here, or a municipality's real 住民記録システム through
its API — is used through :class:`ResidentRegistry`, and answers with a
:class:`HouseholdRecord` whose facts use the engine's fact ids (``household.address``,
``household[N].birth_date`` …) and JSON values (dates as ``YYYY-MM-DD``), exactly the shape of
``flask rules evaluate --facts``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

PROVENANCE = "registry"


@dataclass(frozen=True)
class HouseholdRecord:
    """A household as the registry records it, as engine facts with provenance ``registry``.

    ``person_index`` is the member the lookup matched (``household[person_index]``).
    """

    setai_code: str
    person_index: int
    facts: Mapping[str, Any] = field(default_factory=dict)
    provenance: str = PROVENANCE

    @property
    def size(self) -> int:
        """Return the number of members in the household."""
        return sum(1 for key in self.facts if key.endswith("].name"))

    def fact_items(self) -> Iterator[tuple[str, Any, str]]:
        """Yield (fact id, JSON value, provenance) for every fact, in a stable order."""
        for key in sorted(self.facts):
            yield key, self.facts[key], self.provenance


class ResidentRegistry(Protocol):
    """Look residents up in a resident registry (住民基本台帳)."""

    def find_by_name_and_birth_date(self, name: str, birth_date: date) -> list[HouseholdRecord]:
        """Return the households of every resident with this name and birth date."""
        ...

    def find_by_juminhyo_code(self, code: str) -> HouseholdRecord | None:
        """Return the household of the resident with this 住民票コード, or None."""
        ...
