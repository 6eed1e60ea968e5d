"""Benchmark the video counter's relay: N concurrent calls through the app's media layer.

Each call is one staff client and one resident client (Python aiortc), both sending
640×480 video at 30 fps and Opus audio to the server, which relays each side to the
other. The server is the real app (signalling endpoint over HTTP, media loop, relay) in a
separate process, so its CPU is measured alone. N grows until the relayed video falls
below 15 fps or N reaches 10. The last line printed is the JSON summary:

    {"calls": N, "server_cpu_pct_per_call": …, "min_video_fps": …, "audio_gaps": …,
     "per_n": [...]}

where N is the largest N with video ≥ 15 fps and no audio gap. CPU is % of one core
(200 = both cores of a 2-core machine).

Each call runs in its own client process (one GIL is not the limit). To spare the
shared machine, the clients send pre-encoded video (a 2-second VP8 loop encoded once at
start, one keyframe per loop) and Opus (a 1-second tone loop); they decode what they
receive, as a browser does, and count only the video frames that decode, so a relay that
forwards a broken stream scores 0 fps. The server does all its real work: forward the
encoded media, request keyframes, keep the scanning tap subscribed.

Usage: python bench/video.py [--max-calls 10] [--seconds 6]
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aioice.ice
import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WIDTH, HEIGHT, FPS = 640, 480, 30
VIDEO_CLOCK = 90_000
AUDIO_RATE, AUDIO_SAMPLES = 48_000, 960
MIN_FPS = 15.0
GAP_PTS = AUDIO_RATE * 40 // 1000  # an audio pts jump over 40 ms is a gap
SECRET = "bench-secret-not-for-production"
PASSWORD = "bench-password-123"


def _loopback_only(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    # aioice leaves 127.0.0.1 out of host candidates; the bench runs on loopback only.
    return ["127.0.0.1"] if use_ipv4 else []


# ---- the server process ---------------------------------------------------------------


BENCH_CASES = 64  # rounds of 1..10 calls use cases 1..55


def open_resident_sessions(staff_id: int, count: int) -> None:
    """Open ``count`` cases, each with a server-side resident session ``bench-<case id>``."""
    import hashlib
    from datetime import date, datetime, timedelta

    from app.extensions import db
    from app.models import ResidentSession
    from app.services.cases import open_case

    now = datetime.now()
    for _ in range(count):
        case = open_case(staff_id, ["move_out"], "remote", date.today(), now, "bench")
        sid_hash = hashlib.sha256(f"bench-{case.id}".encode()).hexdigest()
        db.session.add(
            ResidentSession(
                sid_hash=sid_hash,
                case_id=case.id,
                created_at=now,
                expires_at=now + timedelta(days=1),
            )
        )
    db.session.commit()


def serve() -> None:
    """Run the app on a free loopback port (print it) until SIGTERM."""
    from datetime import datetime

    from werkzeug.serving import make_server

    aioice.ice.get_host_addresses = _loopback_only
    instance = tempfile.mkdtemp(prefix="kakanai-bench-")
    os.environ["KAKANAI_INSTANCE_PATH"] = instance
    from app import create_app
    from app.extensions import db
    from app.services.accounts import create_user

    app = create_app(
        {
            "SECRET_KEY": SECRET,
            "DATABASE_URL": f"sqlite:///{instance}/bench.sqlite3",
            "WTF_CSRF_ENABLED": False,
            "SESSION_COOKIE_SECURE": False,
            "LOG_LEVEL": "WARNING",
        }
    )
    with app.app_context():
        db.create_all()
        staff = create_user("bench", PASSWORD, "counter", "bench", now=datetime.now())
        open_resident_sessions(staff.id, BENCH_CASES)
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # The app's SIGTERM handler closes the media layer, then ends the process.
    print(server.server_port, flush=True)
    threading.Thread(target=report_video_level, args=(app,), daemon=True).start()
    server.serve_forever()


def report_video_level(app: Any) -> None:
    """Print the video level and the audio packets lost on the way in, twice a second."""
    from app.media.server import media_server

    server = media_server(app)
    governor = server.registry().governor
    if os.environ.get("BENCH_VIDEO_LEVEL"):
        # Pin the level (to measure what each level costs): the governor stops deciding.
        governor.level_index = int(os.environ["BENCH_VIDEO_LEVEL"])
        governor.observe = lambda lateness: None  # type: ignore[method-assign]

    async def audio_lost() -> int:
        lost = 0
        for pc in list(server.registry().peers.values()):
            for stats in (await pc.getStats()).values():
                if stats.type == "inbound-rtp" and stats.kind == "audio":
                    lost += stats.packetsLost
        return lost

    while True:
        lost = server.loop.run(audio_lost(), 5) if server.loop.running else 0
        print(json.dumps({"level": governor.level_index, "audio_lost": lost}), flush=True)
        time.sleep(0.5)


# ---- the clients ------------------------------------------------------------------------


def encode_video_loop(seconds: int = 2) -> list[av.Packet]:
    """Encode a moving synthetic camera picture once (VP8, like a browser would send)."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.bit_rate = 800_000
    codec.time_base = fractions.Fraction(1, VIDEO_CLOCK)
    codec.framerate = fractions.Fraction(FPS, 1)
    codec.gop_size = FPS * seconds  # one keyframe per loop: the loop restarts on it
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    rng = np.random.default_rng(8)
    background = rng.integers(40, 200, (HEIGHT // 8, WIDTH // 8, 3), dtype=np.uint8)
    background = np.kron(background, np.ones((8, 8, 1), np.uint8))
    packets: list[av.Packet] = []
    for i in range(FPS * seconds):
        image = np.roll(background, 4 * i, axis=1).copy()
        x = (i * 10) % (WIDTH - 120)
        image[180:300, x : x + 120] = (255, 255, 255)  # someone's hand moving
        image += rng.integers(0, 6, image.shape, dtype=np.uint8)  # sensor noise
        frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
        frame.pts, frame.time_base = i * VIDEO_CLOCK // FPS, codec.time_base
        packets += codec.encode(frame)
    packets += codec.encode(None)
    return packets


def encode_audio_loop() -> list[av.Packet]:
    """Encode one second of a 440 Hz tone as 20 ms Opus packets."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.format, codec.layout = AUDIO_RATE, "s16", "stereo"
    codec.bit_rate = 64_000
    codec.time_base = fractions.Fraction(1, AUDIO_RATE)
    packets: list[av.Packet] = []
    t = np.arange(AUDIO_RATE) / AUDIO_RATE
    tone = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
    stereo = np.repeat(tone, 2)
    for i in range(AUDIO_RATE // AUDIO_SAMPLES):
        chunk = stereo[i * AUDIO_SAMPLES * 2 : (i + 1) * AUDIO_SAMPLES * 2].reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
        frame.sample_rate, frame.pts = AUDIO_RATE, i * AUDIO_SAMPLES
        packets += codec.encode(frame)
    return packets


def packet_track(kind: str, packets: list[av.Packet], rate: int, step: int) -> Any:
    """A track that sends pre-encoded packets in real time, looping."""
    from aiortc.mediastreams import MediaStreamTrack

    class PacketTrack(MediaStreamTrack):
        def __init__(self) -> None:
            super().__init__()
            self.kind = kind
            self._n = 0
            self._start: float | None = None

        async def recv(self) -> av.Packet:
            if self._start is None:
                self._start = time.monotonic()
            due = self._start + self._n * step / rate
            if (wait := due - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            packet = packets[self._n % len(packets)]
            packet.pts, packet.time_base = self._n * step, fractions.Fraction(1, rate)
            self._n += 1
            return packet

    return PacketTrack()


@dataclass
class Stats:
    """What one client received."""

    video: list[float] = field(default_factory=list)  # arrival times
    audio: list[tuple[float, int]] = field(default_factory=list)  # (arrival, pts)


async def _consume(track: Any, stats: Stats) -> None:
    from aiortc.mediastreams import MediaStreamError

    try:
        while True:
            frame = await track.recv()
            now = time.monotonic()
            if track.kind == "video":
                stats.video.append(now)
            else:
                stats.audio.append((now, frame.pts))
    except MediaStreamError:
        pass


def _post(url: str, body: bytes, headers: dict[str, str]) -> Any:
    request = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


async def connect(base: str, case_id: int, role: str, cookie: str, media: dict[str, Any]) -> Any:
    """Connect one client; return (peer connection, stats, consumer tasks)."""
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    stats, tasks = Stats(), []
    pc.on("track", lambda track: tasks.append(asyncio.ensure_future(_consume(track, stats))))
    pc.addTrack(packet_track("audio", media["audio"], AUDIO_RATE, AUDIO_SAMPLES))
    pc.addTrack(packet_track("video", media["video"], VIDEO_CLOCK, VIDEO_CLOCK // FPS))
    await pc.setLocalDescription(await pc.createOffer())
    body = json.dumps({"sdp": pc.localDescription.sdp, "type": "offer"}).encode()
    headers = {"Content-Type": "application/json", "Cookie": cookie}
    answer = await asyncio.get_running_loop().run_in_executor(
        None, _post, f"{base}/media/{case_id}/{role}/offer", body, headers
    )
    await pc.setRemoteDescription(RTCSessionDescription(**answer))
    return pc, stats, tasks


def cookies(base: str) -> tuple[str, Any]:
    """Log staff in through the real form; return its cookie and a resident cookie maker."""
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    data = f"username=bench&password={PASSWORD}".encode()
    try:
        urllib.request.build_opener(NoRedirect).open(f"{base}/login", data=data, timeout=30)
        raise SystemExit("bench: staff login did not redirect")
    except urllib.error.HTTPError as response:
        staff = response.headers["Set-Cookie"].split(";", 1)[0]
    signer = Flask("bench")
    signer.secret_key = SECRET
    serializer = SecureCookieSessionInterface().get_signing_serializer(signer)
    name = staff.split("=", 1)[0]

    def resident(case_id: int) -> str:
        session = {"resident_case_id": case_id, "sid": f"bench-{case_id}"}
        return f"{name}={serializer.dumps(session)}"

    return staff, resident


def cpu_seconds(pid: int, task: int | None = None) -> float:
    """User + system CPU time of a process (or one of its threads), from /proc."""
    path = f"/proc/{pid}/task/{task}/stat" if task else f"/proc/{pid}/stat"
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:  # the thread or process has ended
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_seconds(pid: int) -> dict[int, float]:
    """CPU time of each thread of a process."""
    return {int(t): cpu_seconds(pid, int(t)) for t in os.listdir(f"/proc/{pid}/task")}


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy (all cores), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class LevelReader:
    """Follow the server's video level from its stdout."""

    def __init__(self, stream: Any) -> None:
        self.level, self.highest, self.audio_lost = 0, 0, 0
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            report = json.loads(line)
            self.level, self.audio_lost = report["level"], report["audio_lost"]
            self.highest = max(self.highest, self.level)

    def reset(self) -> None:
        self.highest = self.level


async def run_calls(
    base: str,
    case_id: int,
    auth: tuple[str, str],
    media: dict[str, Any],
    start_at: float,
    seconds: float,
) -> dict[str, Any]:
    """Hold one call (staff + resident client); report what they received in the window."""
    staff_cookie, resident_cookie = auth
    clients = [
        await connect(base, case_id, "staff", staff_cookie, media),
        await connect(base, case_id, "resident", resident_cookie, media),
    ]
    while any(pc.connectionState != "connected" for pc, _, _ in clients):
        if time.time() > start_at:
            return {"connected": False}
        await asyncio.sleep(0.05)
    await asyncio.sleep(max(start_at - time.time(), 0))
    start = time.monotonic()
    await asyncio.sleep(seconds)
    end = time.monotonic()
    fps, gaps, late = [], 0, 0
    for _, stats, _ in clients:
        fps.append(sum(start <= t < end for t in stats.video) / (end - start))
        window = [(t, pts) for t, pts in stats.audio if start <= t < end]
        for (t0, p0), (t1, p1) in zip(window, window[1:], strict=False):
            gaps += (p1 - p0) % 2**32 > GAP_PTS
            late += t1 - t0 > 0.1  # arrived over 100 ms after the previous frame
    lost = 0
    for pc, _, _ in clients:
        for report in (await pc.getStats()).values():
            if report.type == "inbound-rtp" and report.kind == "audio":
                lost += report.packetsLost
    for pc, _, tasks in clients:
        for task in tasks:
            task.cancel()
        await pc.close()
    return {
        "connected": True,
        "fps": fps,
        "audio_gaps": gaps,
        "audio_late": late,
        "audio_lost": lost,
    }


def call_worker(args: argparse.Namespace) -> None:
    """Run one call in this process (one process per call: one GIL is not the limit)."""
    aioice.ice.get_host_addresses = _loopback_only
    loops = json.loads(Path(args.media).read_text())
    media = {kind: [av.Packet(bytes.fromhex(p)) for p in loops[kind]] for kind in loops}
    auth = (args.staff_cookie, args.resident_cookie)
    result = asyncio.run(run_calls(args.base, args.case, auth, media, args.start_at, args.seconds))
    print(json.dumps(result), flush=True)


def run_round(
    base: str,
    pid: int,
    n: int,
    first_case: int,
    auth: Any,
    media_file: str,
    seconds: float,
    levels: LevelReader,
) -> dict[str, Any]:
    """Run n calls at once; measure the server's CPU and what the clients received."""
    staff_cookie, resident_cookie = auth
    start_at = time.time() + 4.0 + 0.5 * n  # connect, then warm up (keyframes, bitrate)
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--call-worker",
                "--base",
                base,
                "--case",
                str(first_case + i),
                "--staff-cookie",
                staff_cookie,
                "--resident-cookie",
                resident_cookie(first_case + i),
                "--media",
                media_file,
                "--start-at",
                str(start_at),
                "--seconds",
                str(seconds),
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )  # fmt: skip
        for i in range(n)
    ]
    time.sleep(max(start_at - time.time(), 0))
    wall, cpu_start = time.monotonic(), cpu_seconds(pid)
    threads_start, busy_start = thread_seconds(pid), machine_busy_seconds()
    clients_start = sum(cpu_seconds(w.pid) for w in workers)
    levels.reset()
    lost_start = levels.audio_lost
    time.sleep(seconds)
    elapsed, cpu_end = time.monotonic() - wall, cpu_seconds(pid)
    threads_end, busy_end = thread_seconds(pid), machine_busy_seconds()
    clients_end = sum(cpu_seconds(w.pid) for w in workers)
    busiest = max(threads_end[t] - threads_start.get(t, 0.0) for t in threads_end)
    highest_level, lost_in = levels.highest, levels.audio_lost - lost_start
    results = [json.loads(worker.communicate(timeout=60)[0]) for worker in workers]
    if not all(r["connected"] for r in results):
        raise SystemExit(f"bench: not all of {n} calls connected in time")
    fps = [f for r in results for f in r["fps"]]
    cpu_pct = 100 * (cpu_end - cpu_start) / elapsed
    return {
        "calls": n,
        "server_cpu_pct": round(cpu_pct, 1),
        "server_cpu_pct_per_call": round(cpu_pct / n, 1),
        "min_video_fps": round(min(fps), 1),
        "median_video_fps": round(float(np.median(fps)), 1),
        "audio_gaps": sum(r["audio_gaps"] for r in results),
        "audio_late_100ms": sum(r["audio_late"] for r in results),
        # Audio packets lost on the way to the server, and on the way back to the clients.
        "audio_lost_to_server": lost_in,
        "audio_lost_to_clients": sum(r["audio_lost"] for r in results),
        "video_level_max": highest_level,  # 0 full, 1 320 px wide, 2 also 20 fps
        # Where the CPU went (% of one core): the server's busiest thread (its event
        # loop: one GIL), the bench's clients, and the whole machine (others included).
        "server_busiest_thread_pct": round(100 * busiest / elapsed, 1),
        "clients_cpu_pct": round(100 * (clients_end - clients_start) / elapsed, 1),
        "machine_busy_pct": round(100 * (busy_end - busy_start) / elapsed, 1),
    }


def bench(
    base: str, pid: int, calls: range, seconds: float, levels: LevelReader
) -> list[dict[str, Any]]:
    """Run rounds of 1, 2, … calls until video falls below 15 fps or max_calls."""
    loops = {"video": encode_video_loop(), "audio": encode_audio_loop()}
    media_file = Path(tempfile.mkdtemp(prefix="kakanai-bench-")) / "media.json"
    media_file.write_text(json.dumps({k: [bytes(p).hex() for p in v] for k, v in loops.items()}))
    auth = cookies(base)
    rounds, first_case = [], 1
    for n in calls:
        result = run_round(base, pid, n, first_case, auth, str(media_file), seconds, levels)
        first_case += n
        rounds.append(result)
        print(json.dumps(result), file=sys.stderr, flush=True)
        if result["min_video_fps"] < MIN_FPS:
            break
        time.sleep(1.0)  # let the server close the finished round's peers
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-calls", type=int, default=10)
    parser.add_argument("--min-calls", type=int, default=1, help="first N to run")
    parser.add_argument(
        "--video-level", type=int, help="pin the server's video level (0-2) instead of adapting"
    )
    parser.add_argument("--seconds", type=float, default=6.0, help="measuring window per N")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--call-worker", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--base", "--staff-cookie", "--resident-cookie", "--media"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--case", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if args.call_worker:
        call_worker(args)
        return
    aioice.ice.get_host_addresses = _loopback_only
    env = dict(os.environ)
    if args.video_level is not None:
        env["BENCH_VIDEO_LEVEL"] = str(args.video_level)
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        levels = LevelReader(server.stdout)
        rounds = bench(
            base, server.pid, range(args.min_calls, args.max_calls + 1), args.seconds, levels
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    good = [r for r in rounds if r["min_video_fps"] >= MIN_FPS and r["audio_gaps"] == 0]
    best = good[-1] if good else rounds[0]
    print(
        json.dumps(
            {
                "calls": best["calls"] if good else 0,
                "server_cpu_pct_per_call": best["server_cpu_pct_per_call"],
                "min_video_fps": best["min_video_fps"],
                "audio_gaps": best["audio_gaps"],
                "cpus": os.cpu_count(),
                "per_n": rounds,
            }
        )
    )


if __name__ == "__main__":
    main()
