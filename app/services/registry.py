"""The app's resident registry: the adapter the counter looks residents up through."""

from __future__ import annotations

from flask import current_app

from app.extensions import db
from app.registry.adapter import ResidentRegistry
from app.registry.demo import DemoRegistry, index_key
from app.services.cases import cipher


def resident_registry() -> ResidentRegistry:
    """Return the registry for this app (the demo table; a real 住民記録システム adapter later)."""
    return DemoRegistry(db.session, cipher(), index_key(current_app.config["SECRET_KEY"]))
