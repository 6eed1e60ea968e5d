"""The demo resident registry (住民基本台帳の代わり): households and residents, encrypted at rest.

Only blind indexes (HMAC digests) of the lookup keys are stored in the clear, so the table
can be searched by 住民票コード or by name + birth date without holding either readable.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db


class RegistryHousehold(db.Model):  # type: ignore[name-defined,misc]
    """A household (世帯) of the demo registry; its address is sealed with the data key."""

    __tablename__ = "registry_household"

    id: Mapped[int] = mapped_column(primary_key=True)
    setai_code: Mapped[str] = mapped_column(String(16), unique=True)
    address_enc: Mapped[str] = mapped_column(Text)
    postal_code: Mapped[str] = mapped_column(String(7))

    residents: Mapped[list[RegistryResident]] = relationship(
        back_populates="household", cascade="all, delete-orphan", order_by="RegistryResident.seq"
    )


class RegistryResident(db.Model):  # type: ignore[name-defined,misc]
    """A resident of the demo registry: their facts sealed as one JSON object, and blind indexes."""

    __tablename__ = "registry_resident"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(
        ForeignKey("registry_household.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int]
    juminhyo_digest: Mapped[str] = mapped_column(String(64), unique=True)
    name_birth_digest: Mapped[str] = mapped_column(String(64), index=True)
    kana_birth_digest: Mapped[str] = mapped_column(String(64), index=True)
    facts_enc: Mapped[str] = mapped_column(Text)

    household: Mapped[RegistryHousehold] = relationship(back_populates="residents")
