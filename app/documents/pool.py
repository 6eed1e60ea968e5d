"""Worker processes that render packets away from the web process, side by side.

WeasyPrint lays out in pure Python holding the GIL: a one-second packet rendered in the web
process would stall every other request for that second, and would use one core. Workers
render it instead: the packet's parts (cover sheet, forms) are cut into one run per worker
of about equal cost, in document order, and the runs are rendered at the same time (one
process uses one core); the web process joins them. Workers come from a fork server (never
a fork of the web process, which has threads) and warm their fonts once when they start.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from app.documents.catalog import catalog_for
from app.documents.layout import Layout, Part
from app.documents.stamp import Rendered
from app.errors import DomainError
from app.slots import waiting

log = logging.getLogger(__name__)
_worker: Layout | None = None


def _start_worker(root: str, warm_parts: list[Part]) -> None:
    global _worker
    _worker = Layout(catalog_for(root))
    _worker.warm_up(warm_parts)


def _render_parts(title: str, parts: list[Part]) -> Rendered:
    assert _worker is not None, "worker not started"
    return _worker.rendered_parts(title, parts)


def _ping() -> bool:
    return _worker is not None


class RenderTimedOut(DomainError):
    """A packet took longer than ``DOCUMENT_RENDER_SECONDS`` to lay out and was stopped."""

    status = 503
    default_code = "render_timeout"


TIMED_OUT = (
    "書類（PDF）の作成に時間がかかりすぎたため、中止しました。"
    "入力した文字が長すぎないか確かめてから、もう一度お試しください。"
    "続く場合は、システム担当にお知らせください。"
)


class DocumentPool:
    """A pool of warmed renderer processes for one templates root."""

    #: Longest a packet may take; ``init_documents`` sets it from ``DOCUMENT_RENDER_SECONDS``.
    render_seconds: float = 30.0

    def __init__(
        self,
        root: str,
        workers: int = 2,
        warm_parts: Sequence[Part] = (),
        render_seconds: float | None = None,
    ) -> None:
        self.root = root
        self.warm_parts = list(warm_parts)
        self.workers = workers
        if render_seconds is not None:
            self.render_seconds = render_seconds
        self._swap = threading.Lock()
        self.executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["app.documents.layout"])
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=context, initializer=_start_worker,
            initargs=(self.root, self.warm_parts),
        )

    def wait_ready(self) -> None:
        """Block until every worker has started and warmed its fonts."""
        for future in [self.executor.submit(_ping) for _ in range(self.workers * 2)]:
            future.result()

    def render(self, title: str, runs: Sequence[Sequence[Part]]) -> tuple[Rendered, ...]:
        """Render each run of parts as one PDF, the runs side by side; return them in order.

        Workers receive the parts' HTML and stylesheet names (plain, picklable data) and
        send back the PDF bytes with their page count and signature boxes.

        A packet still rendering after ``render_seconds`` fails alone with ``RenderTimedOut``
        (Japanese): a running task cannot be cancelled, so its workers are killed and fresh
        ones take their place; without that a 47-second layout would hold a worker, and
        every packet queued behind it, to the end.

        :raises RenderTimedOut: the packet took too long.
        """
        executor = self.executor
        futures = [executor.submit(_render_parts, title, list(run)) for run in runs]
        deadline = time.monotonic() + self.render_seconds
        with waiting():  # the workers render; this thread only waits
            try:
                return tuple(
                    future.result(timeout=max(0.0, deadline - time.monotonic()))
                    for future in futures
                )
            except TimeoutError:
                self._replace_workers(executor)
                log.error(
                    "documents: a packet took over %.0f s to render; its workers were replaced",
                    self.render_seconds,
                )
                raise RenderTimedOut(TIMED_OUT) from None

    def _replace_workers(self, stuck: ProcessPoolExecutor) -> None:
        """Kill the processes of ``stuck`` and render with new ones from now on."""
        with self._swap:
            if self.executor is stuck:
                self.executor = self._new_executor()
        for process in list(getattr(stuck, "_processes", {}).values()):
            process.kill()
        stuck.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers."""
        self.executor.shutdown(wait=True, cancel_futures=True)

    def restarted(self) -> DocumentPool:
        """Shut this (broken) pool down and return a fresh one with as many workers."""
        self.executor.shutdown(wait=False, cancel_futures=True)
        return DocumentPool(self.root, self.workers, self.warm_parts, self.render_seconds)
