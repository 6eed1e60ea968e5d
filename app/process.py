"""Process-wide state the app changes, in one place: the cyclic garbage collector's frozen set.

``gc.freeze()`` moves every object alive now out of the collector's generations, so the
collections that a request's many short-lived objects trigger no longer walk them. That is
right for what lives as long as the process (fonts, stylesheets and templates warmed up by
``create_app``; the rule sets in force) and wrong for anything that is later dropped: a
frozen object is never collected while it stays frozen, and a rule set's closures form
cycles that only the collector frees. So there are exactly two moves, and nothing else in
``app/`` calls ``gc.freeze``/``gc.unfreeze``:

- ``freeze_long_lived()`` after loading something that stays (warm-up, a rule set cached);
- ``release_frozen()`` after dropping something that was frozen (a rule set evicted from the
  cache): unfreeze, collect what is now garbage, and freeze the rest again.

``create_app`` makes the first freeze (through ``init_documents``' warm-up); the rule-set
cache in ``app.services.rules`` makes the others. docs/architecture.md lists this with the
other process-wide side effects.
"""

from __future__ import annotations

import gc
import threading

# Two request threads may load rule sets at once: one's unfreeze-collect-freeze must not
# interleave with the other's freeze (it would freeze the garbage it was about to collect).
_lock = threading.Lock()


def freeze_long_lived() -> None:
    """Collect garbage, then freeze everything alive now (it is meant to live as long as the process)."""
    with _lock:
        gc.collect()
        gc.freeze()


def release_frozen() -> None:
    """Unfreeze, collect what was dropped since the last freeze, and freeze the rest again."""
    with _lock:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
