"""Worker processes that render packets away from the web process.

WeasyPrint lays out in pure Python holding the GIL: a one-second packet rendered in the web
process would stall every other request for that second. Workers render it instead, and
with ``split=True`` render a packet's departments side by side (one process uses one core).
Workers come from a fork server (never a fork of the web process, which has threads) and
warm their fonts once when they start.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from app.documents.stamp import Rendered

if TYPE_CHECKING:
    from app.documents.render import Documents, FormDocument, RenderContext

_worker: Documents | None = None


def _start_worker(root: str) -> None:
    global _worker
    from app.documents.render import Documents

    _worker = Documents(root)
    _worker.warm_up()


def _render_department(forms: list[dict[str, Any]], context: dict[str, Any]) -> Rendered:
    from app.documents.render import FormDocument, RenderContext

    assert _worker is not None, "worker not started"
    docs = [FormDocument(**f) for f in forms]
    return _worker.rendered_department(docs, RenderContext(**context))


def _render_cover(
    procedures: list[dict[str, Any]], forms: list[dict[str, Any]], context: dict[str, Any]
) -> Rendered:
    from app.documents.render import FormDocument, RenderContext

    assert _worker is not None, "worker not started"
    docs = [FormDocument(**f) for f in forms]
    return _worker.rendered_cover(procedures, RenderContext(**context), docs)


def _render_packet(
    procedures: list[dict[str, Any]], forms: list[dict[str, Any]], context: dict[str, Any]
) -> Rendered:
    from app.documents.render import FormDocument, RenderContext

    assert _worker is not None, "worker not started"
    docs = [FormDocument(**f) for f in forms]
    return _worker.rendered_packet(docs, RenderContext(**context), procedures)


def _ping() -> bool:
    return _worker is not None


class DocumentPool:
    """A pool of warmed renderer processes for one templates root."""

    def __init__(self, root: str, workers: int = 2) -> None:
        self.root = root
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["app.documents.render"])
        self.workers = workers
        self.executor = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_start_worker, initargs=(root,)
        )

    def wait_ready(self) -> None:
        """Block until every worker has started and warmed its fonts."""
        for future in [self.executor.submit(_ping) for _ in range(self.workers * 2)]:
            future.result()

    def submit_packet(
        self,
        procedures: Sequence[Mapping[str, Any]],
        forms: Sequence[FormDocument],
        context: RenderContext,
    ) -> Future[Rendered]:
        """Start rendering a whole packet as one document in a worker."""
        return self._submit(_render_packet, procedures, forms, context)

    def submit_cover(
        self,
        procedures: Sequence[Mapping[str, Any]],
        forms: Sequence[FormDocument],
        context: RenderContext,
    ) -> Future[Rendered]:
        """Start rendering the cover sheet in a worker."""
        return self._submit(_render_cover, procedures, forms, context)

    def _submit(
        self,
        render: Any,
        procedures: Sequence[Mapping[str, Any]],
        forms: Sequence[FormDocument],
        context: RenderContext,
    ) -> Future[Rendered]:
        # Workers receive plain data (picklable), never the parent's objects.
        return self.executor.submit(
            render, [dict(p) for p in procedures], [asdict(d) for d in forms], asdict(context)
        )

    def submit_departments(
        self,
        documents: Documents,
        groups: Sequence[Sequence[FormDocument]],
        context: RenderContext,
    ) -> list[Future[Rendered] | Rendered]:
        """Start rendering each department not in the cache; return futures or cached PDFs.

        The biggest departments go first, so that the workers finish at about the same time.
        """
        ctx = asdict(context)
        jobs: dict[int, Future[Rendered] | Rendered] = {}
        for i in sorted(range(len(groups)), key=lambda i: -len(groups[i])):
            cached = documents.cache.get(documents.department_key(groups[i], context))
            if cached is not None:
                jobs[i] = cached
            else:
                forms = [asdict(d) for d in groups[i]]
                jobs[i] = self.executor.submit(_render_department, forms, ctx)
        return [jobs[i] for i in range(len(groups))]

    def collect(
        self,
        documents: Documents,
        groups: Sequence[Sequence[FormDocument]],
        context: RenderContext,
        jobs: list[Future[Rendered] | Rendered],
    ) -> list[Rendered]:
        """Wait for the departments' PDFs and keep them in the cache."""
        out: list[Rendered] = []
        for group, job in zip(groups, jobs, strict=True):
            if isinstance(job, Future):
                job = job.result()
                documents.cache.put(documents.department_key(group, context), job)
            out.append(job)
        return out

    def close(self) -> None:
        """Stop the workers."""
        self.executor.shutdown(wait=True, cancel_futures=True)

    def restarted(self) -> DocumentPool:
        """Shut this (broken) pool down and return a fresh one with as many workers."""
        self.executor.shutdown(wait=False, cancel_futures=True)
        return DocumentPool(self.root, self.workers)
