"""Who may reach which endpoint: every view declares it, and anything undeclared is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, current_app, redirect, request, session, url_for
from flask_login import current_user

from app.models.user import STAFF_ROLES

PUBLIC = "public"
RESIDENT = "resident"

F = TypeVar("F", bound=Callable[..., Any])


def allow(*who: str) -> Callable[[F], F]:
    """Declare who reaches a view: staff roles, ``RESIDENT`` (one case) or ``PUBLIC``."""
    unknown = set(who) - {*STAFF_ROLES, PUBLIC, RESIDENT}
    if not who or unknown:
        raise ValueError(f"allow(): unknown or no audience {sorted(unknown)}")

    def mark(view: F) -> F:
        view.access = frozenset(who)  # type: ignore[attr-defined]
        return view

    return mark


def access_of(endpoint: str | None) -> frozenset[str] | None:
    """Return the declared audience of an endpoint, or None when it declares none."""
    if endpoint is None:
        return None
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access", None)


def resident_case_id() -> int | None:
    """Return the one case a resident session was admitted to, if any."""
    value = session.get("resident_case_id")
    return int(value) if value is not None else None


def enforce_access() -> Any:
    """Refuse the request unless the endpoint's declared audience includes the caller."""
    if request.endpoint is None:  # 404/405: let Flask answer
        return None
    audience = access_of(request.endpoint)
    if audience is None:
        current_app.logger.error("endpoint %s declares no audience; refused", request.endpoint)
        abort(403)
    if PUBLIC in audience:
        return None
    if current_user.is_authenticated:
        if current_user.role in audience:
            return None
        abort(403)
    if RESIDENT in audience and resident_case_id() is not None:
        return None
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        abort(401)
    if set(audience) & set(STAFF_ROLES):
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    abort(403)
