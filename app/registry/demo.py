"""The demo resident registry: a seeded table of fictional みどり市 residents behind the adapter.

Residents' facts are sealed with the deployment's data key (Fernet); only HMAC digests of
the lookup keys (住民票コード, name + birth date, kana name + birth date) are stored in the
clear. Names are folded before hashing so that staff typing 高橋 find 髙橋 and spaces or
full-width letters do not matter.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import jaconv
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from app.crypto import FactCipher
from app.models.registry import RegistryHousehold, RegistryResident
from app.registry.adapter import HouseholdRecord

SEED_PATH = Path(__file__).with_name("demo_residents.yaml")

# A plain session or Flask-SQLAlchemy's scoped one (db.session).
SessionLike = Session | scoped_session[Any]

# 異体字 folded for search only; the registry keeps the characters as registered.
_ITAIJI = str.maketrans(
    {
        "髙": "高",
        "﨑": "崎",
        "邉": "辺",
        "邊": "辺",
        "齋": "斎",
        "齊": "斉",
        "濵": "浜",
        "德": "徳",
        "櫻": "桜",
        "廣": "広",
        "澤": "沢",
        "國": "国",
        "嶋": "島",
        "槗": "橋",
    }
)
_SPOUSE = {"tsuma", "otto"}


def fold_name(name: str) -> str:
    """Return a name folded for lookup: NFKC, no spaces, 異体字 to their common form, katakana."""
    text = unicodedata.normalize("NFKC", name).translate(_ITAIJI)
    text = "".join(ch for ch in text if not ch.isspace() and ch not in "・･")
    return jaconv.hira2kata(text)


def index_key(secret_key: str) -> bytes:
    """Derive the blind-index key from the app's secret key (never the data key, which rotates)."""
    return hashlib.sha256(b"kakanai-registry-index|" + secret_key.encode("utf-8")).digest()


def _digest(key: bytes, kind: str, *parts: str) -> str:
    return hmac.new(key, "|".join((kind, *parts)).encode("utf-8"), hashlib.sha256).hexdigest()


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _roles(relationship: str, spouse_taken: bool) -> list[str]:
    """Return the roles a member's 続柄 implies before the interview (staff adjust them)."""
    if relationship == "setainushi":
        return ["household_head"]
    if relationship in _SPOUSE and not spouse_taken:
        return ["spouse"]
    if relationship == "ko":
        return ["child"]
    return []


def load_seed(path: Path = SEED_PATH) -> list[dict[str, Any]]:
    """Read the seed households from YAML."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    households: list[dict[str, Any]] = data["households"]
    return households


def seed_residents(
    session: SessionLike, households: Iterable[Mapping[str, Any]], cipher: FactCipher, key: bytes
) -> int:
    """Add the seed households not yet in the table (by 世帯コード); return how many were added."""
    existing = set(session.scalars(select(RegistryHousehold.setai_code)))
    added = 0
    for item in households:
        if item["setai_code"] in existing:
            continue
        household = RegistryHousehold(
            setai_code=item["setai_code"],
            address_enc=cipher.seal(item["address"]),
            postal_code=item["postal_code"],
        )
        for seq, member in enumerate(item["members"]):
            facts = {k: _json_value(v) for k, v in member.items()}
            birth = facts["birth_date"]
            household.residents.append(
                RegistryResident(
                    seq=seq,
                    juminhyo_digest=_digest(key, "code", facts["juminhyo_code"]),
                    name_birth_digest=_digest(key, "name", fold_name(facts["name"]), birth),
                    kana_birth_digest=_digest(key, "kana", fold_name(facts["name_kana"]), birth),
                    facts_enc=cipher.seal(facts),
                )
            )
        session.add(household)
        added += 1
    session.flush()
    return added


class DemoRegistry:
    """The :class:`~app.registry.adapter.ResidentRegistry` over the seeded demo table."""

    def __init__(self, session: SessionLike, cipher: FactCipher, key: bytes) -> None:
        """Use this database session, data cipher and blind-index key."""
        self._session = session
        self._cipher = cipher
        self._key = key

    def find_by_name_and_birth_date(self, name: str, birth_date: date) -> list[HouseholdRecord]:
        """Return the household of every resident with this name (kanji or kana) and birth date."""
        folded, birth = fold_name(name), birth_date.isoformat()
        by_name = _digest(self._key, "name", folded, birth)
        by_kana = _digest(self._key, "kana", folded, birth)
        residents = self._session.scalars(
            select(RegistryResident)
            .where(
                (RegistryResident.name_birth_digest == by_name)
                | (RegistryResident.kana_birth_digest == by_kana)
            )
            .order_by(RegistryResident.id)
        )
        return [self._record(resident) for resident in residents]

    def find_by_juminhyo_code(self, code: str) -> HouseholdRecord | None:
        """Return the household of the resident with this 住民票コード (11 digits), or None."""
        digits = unicodedata.normalize("NFKC", code).strip()
        resident = self._session.scalar(
            select(RegistryResident).where(
                RegistryResident.juminhyo_digest == _digest(self._key, "code", digits)
            )
        )
        return None if resident is None else self._record(resident)

    def _record(self, resident: RegistryResident) -> HouseholdRecord:
        """Open a resident's household and express it as engine facts."""
        household = resident.household
        facts: dict[str, Any] = {
            "household.address": self._cipher.open(household.address_enc),
            "household.postal_code": household.postal_code,
        }
        spouse_taken = False
        for index, member in enumerate(household.residents):
            values: dict[str, Any] = self._cipher.open(member.facts_enc)
            roles = _roles(values.get("relationship", ""), spouse_taken)
            spouse_taken = spouse_taken or "spouse" in roles
            facts[f"household[{index}].roles"] = roles
            for fact_id, value in values.items():
                facts[f"household[{index}].{fact_id}"] = value
        return HouseholdRecord(
            setai_code=household.setai_code,
            person_index=household.residents.index(resident),
            facts=facts,
        )
