"""The app as ``make serve`` runs it (gunicorn -c python:app.gunicorn_conf), on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.resident.conftest import make_review_case  # noqa: F401 (a fixture used here too)

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """Return a free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """gunicorn with the settings of ``make serve``, its own instance folder and port."""

    def __init__(self, instance: Path, env: dict[str, str]) -> None:
        self.instance = instance
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Its own SQLite database in its instance folder: under `make test-pg` the shared
        # PostgreSQL database already holds the test app's tables.
        inherited = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "KAKANAI_DATABASE_URL")
        }
        self.env = {
            **inherited,
            "KAKANAI_INSTANCE_PATH": str(instance),
            "KAKANAI_SECRET_KEY": "security-tests",
            "KAKANAI_SESSION_COOKIE_SECURE": "0",
            "KAKANAI_DOCUMENT_WORKERS": "0",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def flask(self, *args: str) -> str:
        """Run a ``flask`` command against this server's instance; return its output."""
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr + result.stdout
        return result.stdout

    def start(self) -> None:
        """Migrate and start gunicorn exactly as the Makefile's ``serve`` does."""
        self.flask("db", "upgrade")
        self._log = open(self.instance / "server.log", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:app.gunicorn_conf",
                "--graceful-timeout",
                "2",
                "--bind",
                f"127.0.0.1:{self.port}",
                "app:create_app()",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/login", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start:\n" + self.log())

    def log(self) -> str:
        """Return what gunicorn wrote so far."""
        return (self.instance / "server.log").read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """Stop gunicorn (the process this fixture started)."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
            self._log.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Factory: ``serve(**env)`` starts the app as ``make serve`` does; stopped afterwards."""
    started: list[Served] = []

    def start(**env: str) -> Served:
        served = Served(tmp_path / f"instance{len(started)}", env)
        served.instance.mkdir()
        started.append(served)
        served.start()
        return served

    yield start
    for served in started:
        served.stop()
