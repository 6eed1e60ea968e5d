"""Counter views of bookings (予約): the day's list with what each visit needs, a booking
taken on the phone, and opening a booking into its case."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app import clock
from app.auth.access import allow
from app.counter.blueprint import bp
from app.counter.context import actor, ruleset
from app.errors import DomainError, answered_by
from app.extensions import db
from app.models import Booking
from app.services.bookings import (
    COMMON_FIELDS,
    BookingRefused,
    book,
    day_bookings,
    event_only_fields,
    find_booking,
    free_slots,
    open_booking,
)


def _day(raw: str | None) -> date:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        return clock.now().date()


def _page(day: date, values: dict[str, str], problems: dict[str, str], status: int = 200):
    rules = ruleset()
    config = current_app.config
    return render_template(
        "counter/bookings.html",
        day=day,
        previous=day - timedelta(days=1),
        following=day + timedelta(days=1),
        bookings=day_bookings(rules, day),
        slots=free_slots(day, config["BOOKING_SLOTS"], config["BOOKING_CAPACITY"]),
        events={e.id: e.title for e in rules.events.values()},
        common=COMMON_FIELDS,
        by_event=event_only_fields(),
        values=values,
        problems=problems,
        highlight=request.args.get("number", ""),
    ), status


@bp.route("/bookings/")
@allow("counter")
def bookings():
    return _page(_day(request.args.get("day")), {}, {})


@bp.route("/bookings/", methods=["POST"])
@allow("counter")
def make_booking():
    day = _day(request.form.get("day"))
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        made = book(
            ruleset(),
            day=day,
            slot=request.form.get("slot", ""),
            event=request.form.get("event", ""),
            raw=values,
            source="staff",
            actor=actor(),
            now=clock.now(),
            slots=current_app.config["BOOKING_SLOTS"],
            capacity=current_app.config["BOOKING_CAPACITY"],
        )
    except BookingRefused as refused:
        flash(refused.message)
        return _page(day, values, refused.fields, 422)
    flash(
        f"予約しました。予約番号は {made.number} です（{made.slot}）。予約した方に伝えてください。"
    )
    return redirect(url_for("counter.bookings", day=day.isoformat(), number=made.number))


@bp.route("/bookings/number/<number>")
@allow("counter")
def booking_by_number(number: str):
    found = find_booking(number)
    if found is None:
        flash(f"予約番号 {number} の予約は見つかりません。番号を確かめてください。")
        return redirect(url_for("counter.bookings"))
    return redirect(url_for("counter.bookings", day=found.day.isoformat(), number=found.number))


def _refused(error: DomainError) -> Any:
    flash(error.message)
    return redirect(url_for("counter.bookings"))


@bp.route("/bookings/<int:booking_id>/open", methods=["POST"])
@answered_by(_refused)
@allow("counter")
def open_booked_case(booking_id: int):
    booking = db.get_or_404(Booking, booking_id)
    case = open_booking(
        ruleset(), booking, staff_id=current_user.id, actor=actor(), now=clock.now()
    )
    return redirect(url_for("counter.case", case_id=case.id))
