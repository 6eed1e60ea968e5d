"""Benchmark the counter under load: simulated staff answering questions on the real server.

Starts the app as in production on a multi-core host (docs/deploy.md): nginx from
`flask deploy nginx` in front of one gunicorn process per core (threads inside each),
Redis for live events, SQLite in a fresh instance folder. Logs in CONCURRENCY staff
accounts; each opens a death case prefilled from the demo registry, then answers questions,
each answer a real POST of the interview form (CSRF included) whose reply carries the
redrawn questions and side panel (rows the screen already shows come back as placeholders,
as for the browser). Afterwards the stored fact changes are counted.

Two phases:
- paced (the headline figures): each member of staff answers on a schedule, together RATE
  answers per second (a typist answering every quarter of a second: far above a real
  counter). A reply's latency counts from when the answer was DUE, so a server that falls
  behind shows it (no coordinated omission).
- closed loop (``closed_loop``): everyone answers again the moment the reply arrives, for
  the most the server can take. Here latency is bound to throughput (Little's law: with
  50 staff and no pause, p50 is about 50 / answers_per_s), which is why the latency
  target is judged on the paced phase.

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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-123"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
# A redrawn row carries its key; a row the screen already had comes as a placeholder.
ROW_KEYS = re.compile(r'data-key="([0-9a-f]+)"|data-keep="([0-9a-f]+)"')
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
        self.revisions: dict[str, int] = {}  # the revision of each fact this member last saw
        self.shown = ""  # the keys of the interview rows on this member's screen

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
        status, _h, body = self.request(
            "POST", case_url + "/roles/deceased", {"person": "0"}, {"X-CSRFToken": csrf}
        )
        assert status == 200, status
        self.on_screen(json.loads(body))
        return case_url, csrf

    def on_screen(self, reply: dict[str, Any]) -> None:
        """Note the rows the redrawn interview shows, as counter.js does (sent back)."""
        html = reply.get("questions_html")
        if html:
            self.shown = " ".join(a or b for a, b in ROW_KEYS.findall(html))


def _wait_for_port(port: int, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start on port {port}") from None
            time.sleep(0.1)


class Site:
    """nginx, Redis and one gunicorn process per core, as docs/deploy.md sets them up."""

    def __init__(self, instance: Path, processes: int, threads: int) -> None:
        self.instance = instance
        self.processes = processes
        self.threads = threads
        self.port = _free_port()
        self.env = {
            **os.environ,
            "KAKANAI_INSTANCE_PATH": str(instance),
            "KAKANAI_SESSION_COOKIE_SECURE": "0",
            "KAKANAI_LOG_LEVEL": "WARNING",
            "KAKANAI_TRUSTED_PROXIES": "1",
        }
        self.children: list[subprocess.Popen[bytes]] = []
        self.support: list[subprocess.Popen[bytes]] = []  # nginx and Redis
        self.app_processes: list[subprocess.Popen[bytes]] = []

    def flask(self, *args: str) -> None:
        command = [sys.executable, "-m", "flask", "--app", "app", *args]
        subprocess.run(command, cwd=ROOT, env=self.env, check=True, capture_output=True)

    def start(self) -> None:
        redis_port = _free_port()
        self.children.append(
            subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(redis_port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=subprocess.DEVNULL,
            )
        )
        self.support.append(self.children[-1])
        _wait_for_port(redis_port, "redis-server")
        self.env["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        app_ports = [_free_port() for _ in range(self.processes)]
        for port in app_ports:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "python:app.gunicorn_conf",  # the production worker (docs/deploy.md)
                    "--workers",
                    "1",
                    "--threads",
                    str(self.threads),
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--log-level",
                    "warning",
                    "app:create_app()",
                ],
                cwd=ROOT,
                env=self.env,
            )
            self.children.append(process)
            self.app_processes.append(process)
        prefix = self.instance / "nginx"
        upstreams = [arg for port in app_ports for arg in ("--upstream", f"127.0.0.1:{port}")]
        self.flask(
            "deploy",
            "nginx",
            "--listen",
            f"127.0.0.1:{self.port}",
            "--prefix",
            str(prefix),
            "--no-access-log",
            *upstreams,
        )
        self.support.append(
            subprocess.Popen(
                [
                    "nginx",
                    "-p",
                    str(prefix),
                    "-c",
                    str(prefix / "nginx.conf"),
                    "-e",
                    str(prefix / "error.log"),
                    "-g",
                    "daemon off;",
                ]
            )
        )
        self.children.append(self.support[-1])
        for port in app_ports:
            _wait_for_port(port, "gunicorn")
        _wait_for_port(self.port, "nginx")

    def cpu_seconds(self) -> float:
        return sum(_cpu_seconds(p.pid) for p in self.app_processes)

    def support_cpu_seconds(self) -> float:
        return sum(_cpu_seconds(p.pid) for p in self.support)

    def stop(self) -> None:
        # nginx first, Redis last: an app process finishing a request still publishes.
        for child in reversed(self.children):
            child.terminate()
            child.wait(timeout=30)

    def describe(self) -> str:
        return (
            f"nginx + {self.processes} gunicorn process(es) x {self.threads} threads, Redis, SQLite"
        )


def _phase(
    staff: list[Staff],
    cases: list[tuple[str, str]],
    *,
    rate: float | None,
    duration: float,
    warmup: float,
    site: Site,
) -> dict[str, object]:
    """Run every member of staff for warmup + duration seconds; measure the last duration.

    ``rate`` (answers per second, all staff together) paces the staff; None: no pause.
    """
    latencies: list[float] = []
    sent = ok = failed = 0
    lock = threading.Lock()
    start_at = time.monotonic() + 0.5
    measure_from = start_at + warmup
    stop_at = measure_from + duration
    interval = len(staff) / rate if rate else 0.0

    def work(member: Staff, case_url: str, csrf: str, offset: int) -> None:
        nonlocal sent, ok, failed
        revisions = member.revisions
        n = offset
        # Spread the staff's schedules evenly over one interval.
        due = start_at + interval * offset / len(staff)
        while time.monotonic() < stop_at:
            now = time.monotonic()
            if now < due:
                time.sleep(due - now)
            began = due if rate else time.monotonic()
            fact, field, value = ANSWERS[n % len(ANSWERS)]
            n += 1
            status, _h, body = member.request(
                "POST",
                case_url + "/answer",
                {
                    "fact": fact,
                    field: value,
                    "revision": str(revisions.get(fact, 0)),
                    "shown": member.shown,
                },
                {"X-CSRFToken": csrf, "Accept": "application/json"},
            )
            elapsed = (time.monotonic() - began) * 1000
            try:
                reply = json.loads(body)
            except ValueError:  # not the app's JSON: a proxy error page, say
                print(f"answer refused: HTTP {status}: {body[:200]!r}", file=sys.stderr)
                reply = {}
            if status == 200 and reply.get("ok"):
                revisions[fact] = reply["revision"]
                member.on_screen(reply)
            elif reply:
                print(f"answer refused: HTTP {status}: {reply.get('error')}", file=sys.stderr)
            counted = began >= measure_from and began < stop_at
            with lock:
                sent += 1
                if status == 200 and reply.get("ok"):
                    ok += 1
                else:
                    failed += 1
                if counted:
                    latencies.append(elapsed)
            due += interval

    workers = [
        threading.Thread(target=work, args=(m, url, csrf, i))
        for i, (m, (url, csrf)) in enumerate(zip(staff, cases, strict=True))
    ]
    cpu_before = site.cpu_seconds()
    support_before = site.support_cpu_seconds()
    client_before = time.process_time()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    server_cpu = site.cpu_seconds() - cpu_before
    client_cpu = time.process_time() - client_before
    support_cpu = site.support_cpu_seconds() - support_before
    latencies.sort()
    return {
        "answers_per_s": round(len(latencies) / duration, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 1),
        "answers_sent": sent,
        "answers_refused": failed,
        # CPU the app processes spent per answer: steadier than wall-clock on a busy host.
        "server_cpu_ms_per_answer": round(server_cpu * 1000 / max(sent, 1), 2),
        # The simulated staff run on the same cores: what they took is not the server's.
        "client_cpu_ms_per_answer": round(client_cpu * 1000 / max(sent, 1), 2),
        "nginx_redis_cpu_ms_per_answer": round(support_cpu * 1000 / max(sent, 1), 2),
    }


def run(
    concurrency: int,
    rate: float,
    duration: float,
    warmup: float,
    processes: int,
    threads: int,
    closed_loop: float,
) -> dict[str, object]:
    instance = Path(tempfile.mkdtemp(prefix="kakanai-bench-"))
    site = Site(instance, processes, threads)
    site.flask("db", "upgrade")
    site.flask("demo", "load")
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
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=site.env, check=True)
    site.start()
    try:
        staff = [Staff(site.port, name) for name in names]
        cases = []
        for member in staff:
            member.login()
            cases.append(member.open_death_case())
        paced = _phase(staff, cases, rate=rate, duration=duration, warmup=warmup, site=site)
        loop = (
            _phase(staff, cases, rate=None, duration=closed_loop, warmup=2.0, site=site)
            if closed_loop > 0
            else None
        )
    finally:
        site.stop()

    db = sqlite3.connect(instance / "kakanai.sqlite3")
    # Each accepted answer is one row of history; registry imports and role changes are not.
    stored = db.execute(
        "SELECT COUNT(*) FROM fact_change WHERE provenance = 'interview' "
        "AND fact_id NOT LIKE '%.roles'"
    ).fetchone()[0]
    db.close()
    sent = int(paced["answers_sent"]) + (int(loop["answers_sent"]) if loop else 0)  # type: ignore[call-overload]
    return {
        "concurrency": concurrency,
        "offered_per_s": rate,
        **paced,
        "answers_sent": sent,
        "answers_stored": stored,
        "duration_s": duration,
        "closed_loop": loop,
        "load_average": round(os.getloadavg()[0], 2),
        "server": site.describe(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--rate", type=float, default=210.0, help="answers per second offered, all staff together"
    )
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument(
        "--processes", type=int, default=os.cpu_count() or 1, help="gunicorn processes"
    )
    parser.add_argument("--threads", type=int, default=32, help="threads per process")
    parser.add_argument(
        "--closed-loop", type=float, default=10.0, help="seconds of the closed-loop phase (0: skip)"
    )
    args = parser.parse_args()
    result = run(
        args.concurrency,
        args.rate,
        args.duration,
        args.warmup,
        args.processes,
        args.threads,
        args.closed_loop,
    )
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
