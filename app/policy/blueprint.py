"""The one blueprint of the policy workspace; the route modules add their views to it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("policy", __name__, url_prefix="/policy")
