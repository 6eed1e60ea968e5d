"""MEDIA_LOOPBACK_ONLY: off by default; on, the server offers only 127.0.0.1 (browser tests)."""

from __future__ import annotations

import aioice.ice

from app import create_app
from app.media.server import _loopback_only


def test_loopback_only_is_off_by_default(app):
    assert app.config["MEDIA_LOOPBACK_ONLY"] is False
    assert aioice.ice.get_host_addresses is not _loopback_only


def test_the_setting_makes_aioice_offer_loopback_only(tmp_path, monkeypatch):
    monkeypatch.setenv("KAKANAI_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("KAKANAI_MEDIA_LOOPBACK_ONLY", "1")
    # Undone by monkeypatch at the end, whatever create_app sets meanwhile.
    monkeypatch.setattr(aioice.ice, "get_host_addresses", aioice.ice.get_host_addresses)
    create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1"]
    assert aioice.ice.get_host_addresses(False, True) == []
