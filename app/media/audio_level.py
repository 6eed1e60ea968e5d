"""The RFC 6465 audio level of each sent audio frame, computed with numpy.

aiortc computes it for every 20 ms of audio it sends, in a pure-Python loop over the
samples on the event loop: measured at a sixth of the media server's busy time. This is
the same arithmetic (including aiortc's choice of dividing by ``frame.samples``), vectorised,
installed in place of aiortc's function.
"""

from __future__ import annotations

import math

import aiortc.rtp
import numpy as np
from av import AudioFrame

MAX_SAMPLE_VALUE = 32767
MIN_AUDIO_LEVEL = -127
_aiortc_version = aiortc.rtp.compute_audio_level_dbov


def compute_audio_level_dbov(frame: AudioFrame) -> int:
    """Return the frame's level in dBov (0 loudest, -127 silence), as aiortc would."""
    # Integer arithmetic: a float dot product would go through BLAS, whose spinning
    # worker threads cost far more than 1920 multiplications.
    samples = np.frombuffer(bytes(frame.planes[0]), dtype=np.int16).astype(np.int64)
    energy = int(np.sum(samples * samples))
    rms = math.sqrt(energy / (frame.samples * MAX_SAMPLE_VALUE * MAX_SAMPLE_VALUE))
    if rms <= 0:
        return MIN_AUDIO_LEVEL
    return round(min(max(20 * math.log10(rms), MIN_AUDIO_LEVEL), 0))


def install() -> None:
    """Make aiortc's senders use the numpy version (idempotent)."""
    aiortc.rtp.compute_audio_level_dbov = compute_audio_level_dbov
