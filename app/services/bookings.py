"""Bookings (予約): a slot for a life event booked by phone (staff) or by the resident, with
the few facts the booker knows; opening a booking opens its case with those facts marked
「予約時の申告」, so the forms are prepared before the visit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select

from app.engine import FactValueError, Result, RuleSet, evaluate, parse_fact_value
from app.engine.result import json_value
from app.errors import DomainError
from app.extensions import db
from app.models import Booking, Case
from app.models.booking import BOOKING_SOURCES
from app.services.cases import audit, cipher, open_case, record_fact
from app.services.interview import add_member, display_value, fact_def_for
from app.services.numbering import next_number

PROVENANCE = "booking"


@dataclass(frozen=True)
class BookingField:
    """A question of the booking form and the fact of the case it becomes."""

    name: str
    fact: str
    label: str
    required: bool = True


COMMON_FIELDS = (
    BookingField("name", "household[0].name", "予約する方の氏名"),
    BookingField("name_kana", "household[0].name_kana", "予約する方の氏名（カナ）"),
    BookingField("phone", "household[0].phone", "日中の連絡先（電話番号）"),
)
EVENT_FIELDS: dict[str, tuple[BookingField, ...]] = {
    "death": (
        BookingField("deceased_name", "household[1].name", "亡くなった方の氏名"),
        BookingField("death_date", "death.date", "亡くなった日"),
    ),
    "move_in": (BookingField("move_date", "move.date", "引っ越しの日", required=False),),
    "move_out": (BookingField("move_date", "move.date", "引っ越しの日", required=False),),
    "move_within": (BookingField("move_date", "move.date", "引っ越しの日", required=False),),
}
# the household a booking opens: member index -> roles
EVENT_MEMBERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "death": (("applicant",), ("deceased",)),
}
DEFAULT_MEMBERS: tuple[tuple[str, ...], ...] = (("applicant",),)


class BookingRefused(DomainError):
    """A booking was refused: ``fields`` names each field's problem, in Japanese."""

    status = 422

    def __init__(self, code: str, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message, code=code)
        self.fields = fields or {}


def booking_fields(event: str) -> tuple[BookingField, ...]:
    """Return the questions a booking for ``event`` asks, the common ones first."""
    return COMMON_FIELDS + EVENT_FIELDS.get(event, ())


def event_only_fields() -> list[tuple[BookingField, list[str]]]:
    """Return each event-specific question once, with the events that ask it."""
    seen: dict[str, tuple[BookingField, list[str]]] = {}
    for event, fields in EVENT_FIELDS.items():
        for field in fields:
            seen.setdefault(field.name, (field, []))[1].append(event)
    return list(seen.values())


def slot_use(day: date) -> dict[str, int]:
    """Return how many bookings each slot of ``day`` holds."""
    rows = db.session.execute(
        select(Booking.slot, func.count()).where(Booking.day == day).group_by(Booking.slot)
    ).all()
    return {slot: count for slot, count in rows}


def free_slots(day: date, slots: list[str], capacity: int) -> list[tuple[str, int]]:
    """Return each slot of ``day`` with the places left in it."""
    used = slot_use(day)
    return [(slot, capacity - used.get(slot, 0)) for slot in slots]


def _check_facts(ruleset: RuleSet, event: str, raw: dict[str, str], today: date) -> dict[str, Any]:
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for field in booking_fields(event):
        text = (raw.get(field.name) or "").strip()
        if not text:
            if field.required:
                problems[field.name] = f"{field.label}を入力してください。"
            continue
        try:
            values[field.fact] = json_value(
                parse_fact_value(fact_def_for(ruleset, field.fact), text, today)
            )
        except FactValueError as error:
            problems[field.name] = error.message
    if problems:
        raise BookingRefused("invalid", "入力を確かめてください。", problems)
    return values


def book(
    ruleset: RuleSet,
    *,
    day: date,
    slot: str,
    event: str,
    raw: dict[str, str],
    source: str,
    actor: str,
    now: datetime,
    slots: list[str],
    capacity: int,
) -> Booking:
    """Book a slot for a life event with the booker's facts (checked by the rules), committed.

    :raises BookingRefused: an unknown event or slot, a day in the past, a full slot, or a
        fact the rules refuse (by field).
    """
    if event not in ruleset.events:
        raise BookingRefused(
            "event", "手続の種類を一覧から選んでください。", {"event": "選んでください。"}
        )
    if day < now.date():
        raise BookingRefused(
            "past", "今日以降の日を選んでください。", {"day": "今日以降の日を選んでください。"}
        )
    if slot not in slots:
        raise BookingRefused(
            "slot", "予約できる時間から選んでください。", {"slot": "選んでください。"}
        )
    values = _check_facts(ruleset, event, raw, now.date())
    # Take the day's booking number first: its series row is held (PostgreSQL's row lock,
    # SQLite's write lock) until this commits, so two bookings of the same day count the
    # slot one after the other; counting first let both take the last place.
    prefix = f"{day:%y%m%d}-"
    highest = db.session.scalar(select(func.max(Booking.number)).where(Booking.day == day))
    in_use = int(highest[len(prefix) :]) if highest and highest[len(prefix) :].isdigit() else 0
    number = next_number(f"booking:{day.isoformat()}", in_use)
    if slot_use(day).get(slot, 0) >= capacity:
        db.session.rollback()  # gives the number back
        raise BookingRefused(
            "full",
            f"{slot}の予約はいっぱいです。ほかの時間を選んでください。",
            {"slot": "この時間はいっぱいです。"},
        )
    booking = Booking(
        number=f"{prefix}{number:03d}",
        day=day,
        slot=slot,
        event=event,
        facts_enc=cipher().seal(values),
        source=source if source in BOOKING_SOURCES else "staff",
        created_by=actor,
        created_at=now,
    )
    db.session.add(booking)
    db.session.flush()
    audit(None, actor, "booking_made", {"booking": booking.number, "event": event}, now)
    db.session.commit()
    return booking


def booking_facts(booking: Booking) -> dict[str, Any]:
    """Return a booking's facts (decrypted), by the fact id of the case it opens."""
    return dict(cipher().open(booking.facts_enc))


def booking_result(ruleset: RuleSet, booking: Booking) -> Result:
    """Work out what a booked visit needs from the booked facts, before it is opened."""
    facts = {**booking_facts(booking), "case.events": [booking.event]}
    for index, roles in enumerate(EVENT_MEMBERS.get(booking.event, DEFAULT_MEMBERS)):
        facts[f"household[{index}].roles"] = list(roles)
    return evaluate(ruleset, facts, booking.day)


def day_bookings(ruleset: RuleSet, day: date) -> list[dict[str, Any]]:
    """Return the day's bookings with their facts as words and what each visit needs."""
    rows = db.session.scalars(
        select(Booking).where(Booking.day == day).order_by(Booking.slot, Booking.number)
    )
    out = []
    for booking in rows:
        facts = booking_facts(booking)
        result = booking_result(ruleset, booking)
        out.append(
            {
                "booking": booking,
                "event": ruleset.events[booking.event].title
                if booking.event in ruleset.events
                else booking.event,
                "facts": [
                    (field.label, display_value(ruleset, field.fact, facts[field.fact]))
                    for field in booking_fields(booking.event)
                    if field.fact in facts
                ],
                "procedures": [p.title for p in result.procedures],
                "undecided": len(result.undecided),
                "forms": len(result.forms),
                "source": BOOKING_SOURCES.get(booking.source, booking.source),
            }
        )
    return out


def find_booking(number: str) -> Booking | None:
    """Return the booking with this 予約番号, if any."""
    return db.session.scalar(select(Booking).where(Booking.number == number.strip()))


def open_booking(
    ruleset: RuleSet, booking: Booking, *, staff_id: int, actor: str, now: datetime
) -> Case:
    """Open the booked visit's case with the booked facts marked 「予約時の申告」 (committed).

    A booking opened before gives back the case it opened.
    """
    if booking.case_id is not None:
        existing = db.session.get(Case, booking.case_id)
        if existing is not None:
            return existing
    case = open_case(staff_id, [booking.event], "counter", now.date(), now, actor)
    for roles in EVENT_MEMBERS.get(booking.event, DEFAULT_MEMBERS):
        add_member(ruleset, case, list(roles), actor=actor, now=now)
    for fact_id, value in booking_facts(booking).items():
        record_fact(case, fact_id, value, actor=actor, now=now, provenance=PROVENANCE, commit=False)
    booking.case_id = case.id
    booking.opened_at = now
    audit(case.id, actor, "booking_opened", {"booking": booking.number}, now)
    db.session.commit()
    return case
