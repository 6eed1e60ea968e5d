"""Worker processes that render packets away from the web process, side by side.

WeasyPrint lays out in pure Python holding the GIL: a one-second packet rendered in the web
process would stall every other request for that second, and would use one core. Workers
render it instead: the packet's parts (cover sheet, forms) are cut into one run per worker
of about equal cost, in document order, and the runs are rendered at the same time (one
process uses one core); the web process joins them. Workers come from a fork server (never
a fork of the web process, which has threads) and warm their fonts once when they start.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from app.documents.catalog import catalog_for
from app.documents.layout import Layout, Part
from app.documents.stamp import Rendered
from app.slots import waiting

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


class DocumentPool:
    """A pool of warmed renderer processes for one templates root."""

    def __init__(self, root: str, workers: int = 2, warm_parts: Sequence[Part] = ()) -> None:
        self.root = root
        self.warm_parts = list(warm_parts)
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["app.documents.layout"])
        self.workers = workers
        self.executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_start_worker,
            initargs=(root, self.warm_parts),
        )

    def wait_ready(self) -> None:
        """Block until every worker has started and warmed its fonts."""
        for future in [self.executor.submit(_ping) for _ in range(self.workers * 2)]:
            future.result()

    def render(self, title: str, runs: Sequence[Sequence[Part]]) -> tuple[Rendered, ...]:
        """Render each run of parts as one PDF, the runs side by side; return them in order.

        Workers receive the parts' HTML and stylesheet names (plain, picklable data) and
        send back the PDF bytes with their page count and signature boxes.
        """
        futures = [self.executor.submit(_render_parts, title, list(run)) for run in runs]
        with waiting():  # the workers render; this thread only waits
            return tuple(future.result() for future in futures)

    def close(self) -> None:
        """Stop the workers."""
        self.executor.shutdown(wait=True, cancel_futures=True)

    def restarted(self) -> DocumentPool:
        """Shut this (broken) pool down and return a fresh one with as many workers."""
        self.executor.shutdown(wait=False, cancel_futures=True)
        return DocumentPool(self.root, self.workers, self.warm_parts)
