"""`flask deploy nginx`: the generated config is valid and pins each case to one process."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from flask import Flask

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Backend(BaseHTTPRequestHandler):
    """Stands in for one app process: answers every request with its own port."""

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        body = str(self.server.server_address[1]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Seen-Proto", self.headers.get("X-Forwarded-Proto", ""))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def proxy(app: Flask, tmp_path: Path) -> Iterator[str]:
    backends = [ThreadingHTTPServer(("127.0.0.1", 0), _Backend) for _ in range(2)]
    for backend in backends:
        threading.Thread(target=backend.serve_forever, daemon=True).start()
    port = _free_port()
    runner = app.test_cli_runner()
    args = ["deploy", "nginx", "--listen", f"127.0.0.1:{port}", "--prefix", str(tmp_path)]
    for backend in backends:
        args += ["--upstream", f"127.0.0.1:{backend.server_address[1]}"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    config = tmp_path / "nginx.conf"
    check = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(config), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    server = subprocess.Popen(
        [
            NGINX,
            "-p",
            str(tmp_path),
            "-c",
            str(config),
            "-e",
            str(tmp_path / "error.log"),
            "-g",
            "daemon off;",
        ]
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, (tmp_path / "error.log").read_text()
            time.sleep(0.05)
    yield url
    server.terminate()
    server.wait(timeout=10)
    for backend in backends:
        backend.shutdown()
        backend.server_close()


def _served_by(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def test_every_request_of_a_case_reaches_the_same_process(proxy: str) -> None:
    for case_id in (1, 2, 3, 17, 254):
        paths = [
            f"/counter/cases/{case_id}",
            f"/counter/cases/{case_id}/answer",
            f"/counter/cases/{case_id}/scan",
            f"/media/{case_id}/staff/offer",
            f"/media/{case_id}/resident/offer",
        ]
        assert len({_served_by(proxy + path) for path in paths * 2}) == 1, case_id


def test_cases_spread_over_processes_and_other_pages_round_robin(proxy: str) -> None:
    by_case = {_served_by(f"{proxy}/counter/cases/{n}") for n in range(1, 40)}
    assert len(by_case) == 2
    assert len({_served_by(proxy + "/login") for _ in range(6)}) == 2
    # "/counter/cases/12x" is not case 12: only whole path segments count.
    assert len({_served_by(proxy + "/counter/casesX/1") for _ in range(6)}) == 2


def test_certificate_and_key_go_together(app: Flask, tmp_path: Path) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "deploy",
            "nginx",
            "--upstream",
            "127.0.0.1:1",
            "--prefix",
            str(tmp_path),
            "--certificate",
            str(tmp_path / "cert.pem"),
        ]
    )
    assert result.exit_code != 0
    assert "--certificate and --key go together" in result.output


def _probe_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, proxies: int) -> Flask:
    from app import create_app
    from app.auth.access import PUBLIC, allow

    monkeypatch.setenv("KAKANAI_INSTANCE_PATH", str(tmp_path))
    probe = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}",
            "TRUSTED_PROXIES": proxies,
        }
    )

    @allow(PUBLIC)
    def where() -> str:
        from flask import request, url_for

        return f"{url_for('auth.login', _external=True)} {request.remote_addr}"

    probe.add_url_rule("/_where", view_func=where)
    return probe


FORWARDED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "madoguchi.example.lg.jp",
    "X-Forwarded-For": "192.0.2.7",
}


def test_behind_a_trusted_proxy_links_say_https(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = _probe_app(tmp_path, monkeypatch, 1).test_client().get("/_where", headers=FORWARDED)
    assert body.text == "https://madoguchi.example.lg.jp/login 192.0.2.7"


def test_without_a_proxy_forwarded_headers_are_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = _probe_app(tmp_path, monkeypatch, 0).test_client().get("/_where", headers=FORWARDED)
    assert body.text == "http://localhost/login 127.0.0.1"
