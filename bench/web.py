"""Benchmark the counter under load: simulated staff answering questions on the real server.

Starts the app as in production (gunicorn, one process with threads, SQLite in a fresh
instance folder), logs in CONCURRENCY staff accounts, each opens a death case prefilled from
the demo registry and then answers questions in a loop for DURATION seconds, each answer a
real POST of the interview form (CSRF included) whose reply carries the redrawn questions
and side panel. Afterwards the stored fact changes are counted in the database.

Prints, as its last line, one JSON object:
{"concurrency", "answers_per_s", "p50_ms", "p95_ms", "answers_sent", "answers_stored", ...}
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-123"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CSRF_INPUT = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)
# Answers a counter gives during a death interview, cycled; each is valid for its fact.
ANSWERS = [
    ("death.place", "f-death-place-value", "みどり市立病院（東京都みどり市本町1-2-3）"),
    ("death.date", "f-death-date-value", "令和8年11月20日"),
    ("death.crematorium", "f-death-crematorium-value", "みどり市斎場"),
    ("death.cremation_date", "f-death-cremation_date-value", "R8.11.24"),
    ("funeral.date", "f-funeral-date-value", "2026-11-23"),
    ("death.time", "f-death-time-value", "14:30"),
]


def _cpu_seconds(pid: int) -> float:
    """Return user+system CPU seconds of a process and its children (gunicorn's worker)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return total + sum(_cpu_seconds(int(child)) for child in children)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Staff:
    """One simulated member of staff with a keep-alive connection and a session cookie."""

    def __init__(self, port: int, username: str) -> None:
        self.port = port
        self.username = username
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = ""

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        body = urllib.parse.urlencode(form, doseq=True) if form is not None else None
        all_headers = {"Cookie": self.cookie, **(headers or {})}
        if body is not None:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=all_headers)
            response = self.conn.getresponse()
        except (ConnectionError, http.client.RemoteDisconnected):
            # The server closed an idle keep-alive connection: open a new one, as browsers do.
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.conn.request(method, path, body=body, headers=all_headers)
            response = self.conn.getresponse()
        data = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                self.cookie = value.split(";", 1)[0]
        return response.status, dict(response.getheaders()), data

    def login(self) -> None:
        _status, _h, page = self.request("GET", "/login")
        match = CSRF_INPUT.search(page.decode())
        token = next(g for g in match.groups() if g)
        status, _h, _ = self.request(
            "POST",
            "/login",
            {"csrf_token": token, "username": self.username, "password": PASSWORD},
        )
        assert status == 302, f"login failed for {self.username}: {status}"

    def open_death_case(self) -> tuple[str, str]:
        _s, _h, page = self.request("GET", "/counter/")
        token = next(g for g in CSRF_INPUT.search(page.decode()).groups() if g)
        status, headers, _ = self.request(
            "POST",
            "/counter/cases",
            {
                "csrf_token": token,
                "events": "death",
                "channel": "counter",
                "registry_code": "10000007919",
            },
        )
        assert status == 302, status
        case_url = headers["Location"]
        _s, _h, page = self.request("GET", case_url)
        csrf = CSRF_META.search(page.decode()).group(1)
        status, _h, _ = self.request(
            "POST", case_url + "/roles/deceased", {"person": "0"}, {"X-CSRFToken": csrf}
        )
        assert status == 200, status
        return case_url, csrf


def run(concurrency: int, duration: float, warmup: float) -> dict[str, object]:
    instance = Path(tempfile.mkdtemp(prefix="kakanai-bench-"))
    port = _free_port()
    env = {
        **os.environ,
        "KAKANAI_INSTANCE_PATH": str(instance),
        "KAKANAI_SESSION_COOKIE_SECURE": "0",
        "KAKANAI_LOG_LEVEL": "WARNING",
    }
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*flask, "demo", "load"], cwd=ROOT, env=env, check=True, capture_output=True)
    names = [f"bench{n:03d}" for n in range(concurrency)]
    script = (
        "from datetime import datetime\n"
        "from app import create_app\n"
        "from app.services.accounts import create_user\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        f"    for name in {names!r}:\n"
        f"        create_user(name, {PASSWORD!r}, 'counter', name, now=datetime.now())\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)
    threads = int(os.environ.get("BENCH_THREADS", "32"))  # as `make serve` runs
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "1",
            "--threads",
            str(threads),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "app:create_app()",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        staff = [Staff(port, name) for name in names]
        cases = []
        for member in staff:
            member.login()
            cases.append(member.open_death_case())

        latencies: list[float] = []
        sent = ok = failed = 0
        lock = threading.Lock()
        start_at = time.monotonic() + 0.5
        measure_from = start_at + warmup
        stop_at = measure_from + duration

        def work(member: Staff, case_url: str, csrf: str, offset: int) -> None:
            nonlocal sent, ok, failed
            revisions: dict[str, int] = {}
            n = offset
            while time.monotonic() < start_at:
                time.sleep(0.01)
            while time.monotonic() < stop_at:
                fact, field, value = ANSWERS[n % len(ANSWERS)]
                n += 1
                began = time.monotonic()
                status, _h, body = member.request(
                    "POST",
                    case_url + "/answer",
                    {"fact": fact, field: value, "revision": str(revisions.get(fact, 0))},
                    {"X-CSRFToken": csrf, "Accept": "application/json"},
                )
                elapsed = (time.monotonic() - began) * 1000
                reply = json.loads(body)
                if status == 200 and reply.get("ok"):
                    revisions[fact] = reply["revision"]
                counted = began >= measure_from
                with lock:
                    sent += 1
                    if status == 200 and reply.get("ok"):
                        ok += 1
                    else:
                        failed += 1
                    if counted:
                        latencies.append(elapsed)

        workers = [
            threading.Thread(target=work, args=(m, url, csrf, i))
            for i, (m, (url, csrf)) in enumerate(zip(staff, cases, strict=True))
        ]
        cpu_before = _cpu_seconds(server.pid)
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        server_cpu = _cpu_seconds(server.pid) - cpu_before
    finally:
        server.terminate()
        server.wait(timeout=30)

    db = sqlite3.connect(instance / "kakanai.sqlite3")
    # Each accepted answer is one row of history; registry imports and role changes are not.
    stored = db.execute(
        "SELECT COUNT(*) FROM fact_change WHERE provenance = 'interview' "
        "AND fact_id NOT LIKE '%.roles'"
    ).fetchone()[0]
    db.close()
    latencies.sort()
    return {
        "concurrency": concurrency,
        "answers_per_s": round(len(latencies) / duration, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 1),
        "answers_sent": sent,
        "answers_stored": stored,
        "answers_refused": failed,
        "duration_s": duration,
        # CPU the server process spent per answer: steadier than wall-clock on a busy host.
        "server_cpu_ms_per_answer": round(server_cpu * 1000 / max(sent, 1), 2),
        "load_average": round(os.getloadavg()[0], 2),
        "server": f"gunicorn 1 process x {threads} threads, SQLite",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    args = parser.parse_args()
    print(json.dumps(run(args.concurrency, args.duration, args.warmup), ensure_ascii=False))


if __name__ == "__main__":
    main()
