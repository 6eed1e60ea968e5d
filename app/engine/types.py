"""Static types of the expression language, checked when the rules load."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Ty:
    """A type: its kind, the item type of a list, and for choice facts the allowed keys."""

    kind: str  # boolean number text date person record list any
    item: Ty | None = None
    choices: tuple[str, ...] | None = None
    fields: tuple[str, ...] | None = None  # record fields (bank_account)
    labels: tuple[str, ...] | None = field(default=None, compare=False)  # choice labels, for print

    def __str__(self) -> str:
        """Return the type's name as policy staff read it in a message (Japanese)."""
        if self.kind == "list" and self.item is not None:
            return f"{self.item}のリスト"
        return "選択肢" if self.choices else _NAMES.get(self.kind, self.kind)

    def accepts(self, other: Ty) -> bool:
        """Tell whether a value of type ``other`` may stand where this type is expected."""
        if self.kind == "any" or other.kind == "any":
            return True
        if self.kind != other.kind:
            return False
        if self.kind == "list" and self.item is not None and other.item is not None:
            return self.item.accepts(other.item)
        return True


_NAMES = {
    "boolean": "真偽値（true/false）",
    "number": "数値",
    "text": "文字",
    "date": "日付",
    "person": "世帯員",
    "record": "口座",
    "list": "リスト",
    "any": "任意の値",
}

BOOL = Ty("boolean")
NUM = Ty("number")
TEXT = Ty("text")
DATE = Ty("date")
PERSON = Ty("person")
ANY = Ty("any")
LIST_ANY = Ty("list", ANY)
LIST_TEXT = Ty("list", TEXT)
LIST_PERSON = Ty("list", PERSON)
BANK_FIELDS = ("bank", "branch", "kind", "number", "holder")
BANK_ACCOUNT = Ty("record", fields=BANK_FIELDS)

FACT_TYPES: dict[str, Ty] = {
    "text": TEXT,
    "kana": TEXT,
    "address": TEXT,
    "postal_code": TEXT,
    "time": TEXT,
    "my_number": TEXT,
    "date": DATE,
    "integer": NUM,
    "money": NUM,
    "boolean": BOOL,
    "choice": TEXT,
    "bank_account": BANK_ACCOUNT,
    "list": LIST_TEXT,
}
