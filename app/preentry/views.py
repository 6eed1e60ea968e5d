"""The public pre-entry page: type once at home, show the QR at the counter.

Nothing the resident types is stored on the server: the page checks the entry with the
engine's own fact rules, signs it with ``PREENTRY_KEY`` and answers with the QR; only the
QR (on the resident's phone or on paper) carries the data to the counter.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, current_app, render_template, request

from app import clock
from app.auth.access import PUBLIC, allow
from app.engine import FactValueError, parse_fact_value
from app.preentry.forms import PreEntryForm
from app.scanning.preentry import (
    EVENTS,
    PreEntry,
    PreEntryError,
    make_preentry_qr,
    sign_preentry,
)
from app.services.interview import fact_def_for
from app.services.rate_limits import (
    PREENTRY_ADDRESS,
    PREENTRY_OVERALL,
    take_or_refuse,
    window_key,
)
from app.services.rules import current_ruleset

bp = Blueprint("preentry", __name__, url_prefix="/pre-entry")
_JST_OFFSET = timedelta(hours=9)

# form field -> the fact whose declaration (label, type, range) checks it
CHECKED_AS = {
    "name": "household[0].name",
    "name_kana": "household[0].name_kana",
    "birth_date": "household[0].birth_date",
    "postal_code": "household.postal_code",
    "address": "household.address",
    "phone": "household[0].phone",
}
REQUIRED = ("name", "name_kana", "birth_date")


PREENTRY_BUSY = (
    "短い時間に多くの送信があったため、しばらく受け付けを止めています。"
    "時間をおいてから、もう一度送信してください。窓口では、このまま手続きできます。"
)


def count_submission() -> None:
    """Count one pre-entry or booking submission from this address and overall.

    :raises RateLimited: too many from this address or from everyone (Japanese, 429).
    """
    take_or_refuse(
        [
            (window_key("preentry", "address", request.remote_addr or ""), PREENTRY_ADDRESS),
            ("preentry:all", PREENTRY_OVERALL),
        ],
        clock.now(),
        PREENTRY_BUSY,
    )


def _check(form: PreEntryForm, today: date) -> dict[str, Any] | None:
    """Check every field with its fact's rules; put messages next to the fields."""
    ruleset = current_ruleset(current_app._get_current_object())  # type: ignore[attr-defined]
    values: dict[str, Any] = {}
    ok = True
    if form.event.data not in EVENTS:
        form.event.errors = ["窓口で行う手続を一覧から選んでください。"]
        ok = False
    for name, fact_id in CHECKED_AS.items():
        field = getattr(form, name)
        raw = (field.data or "").strip()
        if not raw:
            if name in REQUIRED:
                field.errors = [f"{field.label.text}を入力してください。"]
                ok = False
            values[name] = None
            continue
        try:
            values[name] = parse_fact_value(fact_def_for(ruleset, fact_id), raw, today)
        except FactValueError as error:
            field.errors = [str(error.message)]
            ok = False
    return values if ok else None


@bp.route("", methods=["GET", "POST"])
@allow(PUBLIC)
def page() -> Any:
    form = PreEntryForm()
    now = clock.utc_now()
    today = (now + _JST_OFFSET).date()
    if request.method == "POST":
        count_submission()
    if form.validate_on_submit() and (values := _check(form, today)) is not None:
        entry = PreEntry(
            event=form.event.data or "",
            name=values["name"],
            name_kana=values["name_kana"],
            birth_date=values["birth_date"],
            address=values["address"],
            postal_code=values["postal_code"],
            phone=values["phone"],
        )
        days = current_app.config["PREENTRY_DAYS"]
        try:
            payload = sign_preentry(
                entry,
                current_app.config["PREENTRY_KEY"].encode("utf-8"),
                now,
                timedelta(days=days),
            )
        except PreEntryError as error:
            # normalise_entry's own checks (e.g. kana that is not kana) name their field.
            target = getattr(form, error.field or "", None) or form.name
            target.errors = [*target.errors, error.message]
        else:
            # Reaching the counter: same date in 和暦 on the page as on the resident's paper.
            expires = now + _JST_OFFSET + timedelta(days=days)
            return render_template(
                "preentry/qr.html",
                qr_src=make_preentry_qr(payload).png_data_uri(scale=6, border=4),
                entry=entry,
                event=EVENTS[entry.event],
                expires=expires.date(),
            )
    status = 400 if form.errors or any(f.errors for f in form) else 200
    return render_template("preentry/form.html", form=form), status
