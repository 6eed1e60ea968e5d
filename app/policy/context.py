"""Helpers the policy views share: who acts, the version of the URL, and how refusals answer."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, redirect, request, url_for
from flask_login import current_user

from app.errors import DomainError
from app.models.ruleset import RuleSetVersion
from app.services.ruleset_store import get_version


def actor() -> str:
    """Return who is acting, for the audit trail and the four-eyes rule."""
    return str(current_user.username)


def version_or_404(version_id: int) -> RuleSetVersion:
    """Return the version of the URL (a missing one answers 404 through VersionError)."""
    return get_version(version_id)


def flash_and_stay(error: DomainError) -> Any:
    """Show a refusal above the version's page (or the page it came from) and stay there."""
    flash(f"{error.message}{(' ' + error.hint) if error.hint else ''}", "error")
    version_id = (request.view_args or {}).get("version_id")
    if version_id is not None:
        return redirect(url_for("policy.version", version_id=version_id))
    return redirect(url_for("policy.index"))


def form_date(name: str) -> date | None:
    """Return a posted YYYY-MM-DD date, or None when it is empty.

    :raises DomainError: the text is not a date.
    """
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise DomainError(
            f"日付「{raw}」が読めません。", hint="2027-04-01 のように年-月-日で入力してください。"
        ) from None
