"""The media loop: lazy start, timeouts, fork, exit and SIGTERM."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading

import pytest

from app.media.loop import MediaLoop, MediaTimeout


@pytest.fixture
def media_loop():
    media_loop = MediaLoop()
    yield media_loop
    media_loop.stop()


def test_the_loop_starts_on_first_use_in_its_own_thread(media_loop):
    assert not media_loop.running

    async def where():
        return threading.current_thread().name

    assert media_loop.run(where(), timeout=5) == "media-loop"
    assert media_loop.running


def test_work_that_overruns_its_timeout_is_cancelled(media_loop):
    cancelled = threading.Event()

    async def slow():
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(MediaTimeout):
        media_loop.run(slow(), timeout=0.2)
    assert cancelled.wait(5)


def test_stop_runs_the_shutdown_callbacks_on_the_loop(media_loop):
    ran = []

    async def close_peers():
        ran.append(threading.current_thread().name)

    media_loop.on_stop(close_peers)
    media_loop.run(asyncio.sleep(0), timeout=5)
    media_loop.stop()
    assert ran == ["media-loop"]
    assert not media_loop.running


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_starts_its_own_loop(media_loop):
    async def pid():
        return os.getpid()

    assert media_loop.run(pid(), timeout=5) == os.getpid()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            if not media_loop.running and media_loop.run(pid(), timeout=5) == os.getpid():
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert media_loop.running  # the parent's loop is untouched


def test_sigterm_closes_media_and_then_ends_the_process(tmp_path):
    script = textwrap.dedent(
        """
        import asyncio, os, signal, sys, time
        from app.media.loop import MediaLoop, install_sigterm_handler

        install_sigterm_handler()
        media_loop = MediaLoop()

        async def close_peers():
            print("closed", flush=True)

        media_loop.on_stop(close_peers)
        media_loop.run(asyncio.sleep(0), timeout=5)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)
        print("still alive", flush=True)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, cwd=os.getcwd()
    )
    assert result.stdout.split() == ["closed"]
    assert result.returncode == -15  # died of SIGTERM, as without our handler


def test_sigterm_chains_to_the_previous_handler(tmp_path):
    script = textwrap.dedent(
        """
        import asyncio, os, signal, sys, time
        signal.signal(signal.SIGTERM, lambda *_: print("gunicorn's handler", flush=True))
        from app.media.loop import MediaLoop, install_sigterm_handler

        install_sigterm_handler()
        media_loop = MediaLoop()

        async def close_peers():
            print("closed", flush=True)

        media_loop.on_stop(close_peers)
        media_loop.run(asyncio.sleep(0), timeout=5)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.5)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, cwd=os.getcwd()
    )
    assert result.stdout.splitlines() == ["closed", "gunicorn's handler"]
    assert result.returncode == 0
