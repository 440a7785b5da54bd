"""Standing in for hy3dgen's compiled custom_rasterizer."""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Iterator

import pytest

from meshpipe.errors import FailedPrecondition
from services.texture.paint import rasterizer, shim


@pytest.fixture
def no_extension(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Hide any custom_rasterizer and restore sys.modules afterwards."""
    monkeypatch.delitem(sys.modules, shim.MODULE_NAME, raising=False)
    monkeypatch.setattr(shim, "load_extension", lambda: None)
    yield
    sys.modules.pop(shim.MODULE_NAME, None)


def test_importing_the_package_registers_nothing() -> None:
    code = (
        "import sys, services.texture.paint.shim, services.texture.paint.rasterizer;"
        f"assert {shim.MODULE_NAME!r} not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_auto_without_extension_registers_ours(no_extension: None) -> None:
    module = shim.prepare_rasterizer("auto")
    assert module is rasterizer
    assert sys.modules[shim.MODULE_NAME] is rasterizer
    import custom_rasterizer

    assert custom_rasterizer.rasterize is rasterizer.rasterize
    assert custom_rasterizer.interpolate is rasterizer.interpolate


def test_extension_required_but_absent(no_extension: None) -> None:
    with pytest.raises(FailedPrecondition, match="custom_rasterizer"):
        shim.prepare_rasterizer("extension")
    assert shim.MODULE_NAME not in sys.modules


def test_real_extension_is_preferred_and_left_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType(shim.MODULE_NAME)
    monkeypatch.setitem(sys.modules, shim.MODULE_NAME, fake)
    assert shim.prepare_rasterizer("auto") is fake
    assert shim.prepare_rasterizer("extension") is fake
    assert shim.prepare_rasterizer("torch") is rasterizer
    assert sys.modules[shim.MODULE_NAME] is fake


def test_missing_extension_is_detected_without_registering(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, shim.MODULE_NAME, raising=False)
    assert shim.load_extension() is None  # not installed in the test environment
    assert shim.MODULE_NAME not in sys.modules
