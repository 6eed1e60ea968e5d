"""Browser fixtures: the real server (gunicorn, as in production) and the system Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser_env import CHROMIUM, CHROMIUM_ARGS

PASSWORD = "browser-test-password"
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The app served by gunicorn on a free loopback port, with its own instance folder."""

    def __init__(self, instance: Path) -> None:
        self.instance = instance
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "KAKANAI_INSTANCE_PATH": str(instance),
            "KAKANAI_SECRET_KEY": "browser-tests",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def flask(self, *args: str) -> str:
        """Run a ``flask`` CLI command against this server's instance; return its output."""
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
        self.flask("db", "upgrade")
        self._log = open(self.instance / "server.log", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "1",
                "--threads",
                "8",
                # Resident pages hold a live-event stream open; do not wait for it on stop.
                "--graceful-timeout",
                "3",
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
        return (self.instance / "server.log").read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=15)
            self._log.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("live-instance"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def staff_account(live_server: LiveServer) -> Callable[[str], str]:
    """Create (once per role) a staff account on the live server; return its username."""
    made: dict[str, str] = {}

    def account(role: str) -> str:
        if role not in made:
            username = f"e2e-{role}"
            live_server.flask("users", "create", "--role", role, "--password", PASSWORD, username)
            made[role] = username
        return made[role]

    return account


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


# ---- the video call: a server that offers loopback ICE, browsers with fake cameras --------

FAKE_MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",  # grant camera and microphone without asking
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def call_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A live server whose media layer offers 127.0.0.1 (aioice leaves loopback out)."""
    server = LiveServer(tmp_path_factory.mktemp("call-instance"))
    server.env["KAKANAI_MEDIA_LOOPBACK_ONLY"] = "1"
    server.start()
    yield server
    server.stop()


@pytest.fixture
def launch_with_camera(browser: Any) -> Iterator[Callable[..., Any]]:
    """Launch another Chromium whose camera is fake: a test pattern, or a .y4m file."""
    launched: list[Any] = []

    def launch(video_file: Path | None = None) -> Any:
        args = [*CHROMIUM_ARGS, *FAKE_MEDIA_ARGS]
        if video_file is not None:
            args.append(f"--use-file-for-fake-video-capture={video_file}")
        chromium = browser.browser_type.launch(executable_path=CHROMIUM, headless=True, args=args)
        launched.append(chromium)
        return chromium

    yield launch
    for chromium in launched:
        chromium.close()


_SEED_CASE = """
import sys
from datetime import datetime

from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import StaffUser
from app.services.cases import open_case, record_fact
from tests.resident.conftest import _json, scenario_facts

app = create_app()
with app.app_context():
    facts, as_of = scenario_facts(sys.argv[1], int(sys.argv[2]))
    staff = db.session.scalar(select(StaffUser).filter_by(username=sys.argv[3]))
    now = datetime.now()
    case = open_case(staff.id, list(facts["case.events"]), "remote", as_of, now, staff.username)
    for fact_id, value in facts.items():
        if fact_id != "case.events":
            record_fact(case, fact_id, _json(value), actor=staff.username, now=now, commit=False)
    db.session.commit()
    print(case.id)
"""


@pytest.fixture(scope="session")
def scenario_case(
    live_server: LiveServer, staff_account: Callable[[str], str]
) -> Callable[..., int]:
    """Factory: open a case on the live server holding a scenario's facts; return its id."""

    def make(file: str = "move_out.yaml", index: int = 1) -> int:
        result = subprocess.run(
            [sys.executable, "-c", _SEED_CASE, file, str(index), staff_account("counter")],
            cwd=ROOT,
            env=live_server.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return int(result.stdout.strip().splitlines()[-1])

    return make
