"""The numpy audio level gives what aiortc's own computation gives."""

from __future__ import annotations

import aiortc.rtp
import numpy as np
import pytest
from av import AudioFrame

from app.media import audio_level


@pytest.mark.parametrize("layout", ["mono", "stereo"])
@pytest.mark.parametrize("loudness", [0, 3, 300, 8000, 32767])
def test_same_level_as_aiortc(layout, loudness):
    channels = 1 if layout == "mono" else 2
    rng = np.random.default_rng(loudness)
    samples = rng.integers(-loudness, loudness + 1, (1, 960 * channels)).astype(np.int16)
    frame = AudioFrame.from_ndarray(samples, format="s16", layout=layout)
    frame.sample_rate = 48_000
    assert audio_level.compute_audio_level_dbov(frame) == audio_level._aiortc_version(frame)


def test_installed_for_aiortcs_senders():
    import app.media.peers  # noqa: F401  (installs it)

    assert aiortc.rtp.compute_audio_level_dbov is audio_level.compute_audio_level_dbov
