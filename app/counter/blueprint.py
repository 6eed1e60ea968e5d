"""The one blueprint of the counter workspace; the route modules add their views to it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("counter", __name__, url_prefix="/counter")
