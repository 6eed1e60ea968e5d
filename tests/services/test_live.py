"""The live broker: in-process always; Redis when a redis-server binary is on this machine."""

import shutil
import socket
import subprocess
import threading
import time

import pytest

from app.services.live import LocalBroker, RedisBroker


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: `make test` installs it (APT_TEST)")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(params=["local", "redis"])
def brokers(request):
    """Two brokers as two app processes would hold them (one shared object when local)."""
    if request.param == "local":
        broker = LocalBroker(keep=5)
        yield broker, broker
        return
    url = request.getfixturevalue("redis_url")
    first, second = RedisBroker(url, keep=5), RedisBroker(url, keep=5)
    yield first, second
    first.close()
    second.close()


def test_events_are_numbered_and_caught_up_after_a_reconnect(brokers):
    publisher, reader = brokers
    channel = f"case-{time.monotonic_ns()}"
    assert [publisher.publish(channel, {"n": n}) for n in (1, 2, 3)] == [1, 2, 3]
    assert reader.wait(channel, after=1, timeout=1) == [(2, {"n": 2}), (3, {"n": 3})]


def test_waiter_in_another_process_is_woken_promptly(brokers):
    publisher, reader = brokers
    channel = f"case-{time.monotonic_ns()}"
    received = []

    def wait():
        started = time.monotonic()
        received.append((reader.wait(channel, after=0, timeout=5), time.monotonic() - started))

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.2)
    publisher.publish(channel, {"type": "forms", "fields": ["氏名"]})
    thread.join(timeout=6)
    events, waited = received[0]
    assert events == [(1, {"type": "forms", "fields": ["氏名"]})]
    assert waited < 1.0


def test_a_client_too_far_behind_is_told_to_resync(brokers):
    publisher, reader = brokers
    channel = f"case-{time.monotonic_ns()}"
    for n in range(10):
        publisher.publish(channel, {"n": n})
    assert reader.wait(channel, after=1, timeout=1) == [(10, {"type": "resync"})]


def test_wait_times_out_quietly(brokers):
    _publisher, reader = brokers
    assert reader.wait(f"case-{time.monotonic_ns()}", after=0, timeout=0.1) == []
