"""The public booking page (予約): a resident books a visit for a life event with the few
facts they know, and gets a booking number and a QR that opens the booking at the counter.

Unlike the pre-entry QR, a booking is stored (sealed with the data key): the counter
prepares the forms before the visit.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import current_app, render_template, request, url_for

from app import clock
from app.auth.access import PUBLIC, allow
from app.preentry.views import bp, count_submission
from app.scanning.preentry import make_preentry_qr
from app.services.bookings import (
    COMMON_FIELDS,
    BookingRefused,
    book,
    event_only_fields,
    free_slots,
)
from app.services.rules import current_ruleset

_JST_OFFSET = timedelta(hours=9)
BOOKABLE_DAYS = 60  # how far ahead a resident can book


def _form(day: date, values: dict[str, str], problems: dict[str, str], status: int) -> Any:
    rules = current_ruleset(current_app._get_current_object())  # type: ignore[attr-defined]
    config = current_app.config
    return render_template(
        "preentry/booking.html",
        day=day,
        slots=free_slots(day, config["BOOKING_SLOTS"], config["BOOKING_CAPACITY"]),
        events={e.id: e.title for e in rules.events.values()},
        common=COMMON_FIELDS,
        by_event=event_only_fields(),
        values=values,
        problems=problems,
    ), status


@bp.route("/booking", methods=["GET", "POST"])
@allow(PUBLIC)
def booking() -> Any:
    today = (clock.utc_now() + _JST_OFFSET).date()
    try:
        day = date.fromisoformat(request.values.get("day") or "")
    except ValueError:
        day = today + timedelta(days=1)
    if request.method == "GET":
        return _form(day, {}, {}, 200)
    count_submission()
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    if day > today + timedelta(days=BOOKABLE_DAYS):
        problems = {"day": f"予約できるのは{BOOKABLE_DAYS}日先までです。"}
        return _form(day, values, problems, 422)
    try:
        made = book(
            current_ruleset(current_app._get_current_object()),  # type: ignore[attr-defined]
            day=day,
            slot=request.form.get("slot", ""),
            event=request.form.get("event", ""),
            raw=values,
            source="resident",
            actor="resident",
            now=clock.now(),
            slots=current_app.config["BOOKING_SLOTS"],
            capacity=current_app.config["BOOKING_CAPACITY"],
        )
    except BookingRefused as refused:
        return _form(day, values, refused.fields, 422)
    link = url_for("counter.booking_by_number", number=made.number, _external=True)
    return render_template(
        "preentry/booked.html",
        booking=made,
        qr_src=make_preentry_qr(link).png_data_uri(scale=6, border=4),
    )
