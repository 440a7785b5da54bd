"""meshpipe's own U^2-Net session gives rembg's masks, and loading the embedded matting
backend imports neither rembg nor pymatting (no numba compile on a cold start)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from services.matting.backends.u2net_session import U2netSession
from tests.support.photos import coffee

ROOT = Path(__file__).resolve().parents[3]
WEIGHTS = Path("~/.u2net/u2netp.onnx").expanduser()
needs_weights = pytest.mark.skipif(
    not WEIGHTS.is_file(), reason=f"{WEIGHTS} missing: run `meshpipe weights fetch-default`"
)


@needs_weights
def test_masks_equal_rembgs() -> None:
    from rembg.sessions.u2netp import U2netpSession

    ours = U2netSession("u2netp", WEIGHTS, ["CPUExecutionProvider"])
    import onnxruntime
    from skimage import data

    options = onnxruntime.SessionOptions()
    theirs = U2netpSession("u2netp", options, providers=["CPUExecutionProvider"])

    for img in (coffee(), Image.fromarray(data.astronaut()), coffee().crop((50, 20, 333, 390))):
        a = np.asarray(ours.predict(img)[0]).astype(int)
        b = np.asarray(theirs.predict(img)[0]).astype(int)
        assert a.shape == b.shape == (img.height, img.width)
        assert np.abs(a - b).max() <= 1  # identical maths (onnxruntime thread order aside)


@needs_weights
def test_loading_the_embedded_backend_imports_no_rembg_or_numba(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from services.matting.backends import build_backend\n"
        "from services.matting.settings import MattingSettings\n"
        "b = build_backend(MattingSettings())\n"
        "b.load(); b.warmup()\n"
        "print(sorted(m for m in ('rembg', 'pymatting', 'numba') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@needs_weights
def test_without_the_cpu_arena_the_mask_is_the_same() -> None:
    img = coffee()
    with_arena = U2netSession("u2netp", WEIGHTS, ["CPUExecutionProvider"])
    without = U2netSession("u2netp", WEIGHTS, ["CPUExecutionProvider"], cpu_arena=False)
    a = np.asarray(with_arena.predict(img)[0]).astype(int)
    b = np.asarray(without.predict(img)[0]).astype(int)
    assert np.abs(a - b).max() <= 1
    assert with_arena.inner_session.get_session_options().enable_cpu_mem_arena
    assert not without.inner_session.get_session_options().enable_cpu_mem_arena
