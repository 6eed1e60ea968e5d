"""Issue 18 Low 12: what holds personal data or keys is this user's only, from its first byte."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import text

from app import create_app
from app.documents.seal import ensure_seal
from app.extensions import db


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="the SQLite file only")
def test_the_instance_folder_and_the_sqlite_files_are_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "instance"
    monkeypatch.setenv("KAKANAI_INSTANCE_PATH", str(instance))
    old = os.umask(0o022)  # the usual umask: new files world-readable unless made private
    try:
        database = instance / "kakanai.sqlite3"
        app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{database}"})
        with app.app_context():
            with db.engine.begin() as connection:
                connection.execute(text("CREATE TABLE t (x)"))
                connection.execute(text("INSERT INTO t VALUES (1)"))
            wal = database.with_name(database.name + "-wal")
            assert mode(instance) == 0o700
            assert mode(database) == 0o600
            assert wal.exists() and mode(wal) == 0o600  # SQLite copies the database's mode
            db.engine.dispose()
        # A database made world-readable by hand is put right at the next start.
        database.chmod(0o644)
        create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{database}"})
        assert mode(database) == 0o600
    finally:
        os.umask(old)


def test_two_first_signatures_at_once_make_one_whole_private_seal(tmp_path: Path) -> None:
    """Parallel first uses used to read a half-written key, and the key was briefly 0644."""
    old = os.umask(0o022)
    try:
        results: list[object] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(8)

        def first_use() -> None:
            try:
                barrier.wait()
                files = ensure_seal(tmp_path)
                key = serialization.load_pem_private_key(files.key.read_bytes(), None)
                cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
                results.append(
                    (key.public_key().public_numbers(), cert.public_key().public_numbers())  # type: ignore[union-attr]
                )
            except BaseException as error:  # noqa: BLE001 — reported below
                errors.append(error)

        threads = [threading.Thread(target=first_use) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        assert len({r for r in results}) == 1, "all saw the same pair"
        (pair,) = set(results)
        assert pair[0] == pair[1], "the key matches its certificate"
        files = ensure_seal(tmp_path)
        assert mode(files.key) == 0o600 and mode(files.key.parent) == 0o700
        assert not list(files.key.parent.glob("*.tmp"))
    finally:
        os.umask(old)
