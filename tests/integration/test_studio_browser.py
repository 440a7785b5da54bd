"""The studio page in a real browser: Debian's headless Chromium (SwiftShader WebGL, no GPU)
driven by Playwright, against the real gateway, orchestrator and stages. A real photo with
several objects goes in; every object's viewer and the scene must load their GLBs.

Needs /usr/bin/chromium (`apt-get install -y chromium`) and the vendored model-viewer
(`make model-viewer`); skipped without them, except under CI (CI=true), where it fails.
Screenshots go to $MESHPIPE_STUDIO_SCREENSHOTS (docs/ for the README), else a temp folder.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from gateway.studio import DEFAULT_VENDOR_DIR
from meshpipe.launcher.local import LocalSystem
from tests.support.gateway_process import GatewayHandle, running_gateway

pytestmark = pytest.mark.slow
CHROMIUM = os.environ.get("MESHPIPE_CHROMIUM", "/usr/bin/chromium")
# WebGL without a GPU: ANGLE on SwiftShader (Chromium refuses it unless told it is fine).
CHROMIUM_ARGS = ["--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
ALL_LOADED = "[...document.querySelectorAll('model-viewer')].every(m => m.loaded)"


def _missing() -> str:
    if not shutil.which(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    if not (DEFAULT_VENDOR_DIR / "model-viewer" / "model-viewer.min.js").is_file():
        return "model-viewer not vendored (make model-viewer)"
    return ""


@pytest.fixture(scope="module")
def gateway(meshpipe_system: LocalSystem) -> Iterator[GatewayHandle]:
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    with running_gateway(meshpipe_system.orchestrator_address) as handle:
        yield handle


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def several_objects_photo(folder: Path) -> Path:
    """The Hubble deep field (scikit-image): a real photo; the embedded detector finds 3."""
    from skimage import data

    path = folder / "hubble_deep_field.jpg"
    Image.fromarray(data.hubble_deep_field()).save(path, quality=92)
    return path


def screenshots_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("MESHPIPE_STUDIO_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def rendered_pixels_vary(page: Any, selector: str, wait_s: float = 20.0) -> bool:
    """What the browser shows of the viewer is not one flat colour (a model was drawn)."""
    deadline = time.monotonic() + wait_s
    while True:
        shot = page.locator(selector).first.screenshot()
        pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"), dtype=np.float32)
        if float(pixels.std()) > 2.0 or time.monotonic() > deadline:
            return float(pixels.std()) > 2.0
        time.sleep(0.5)


def test_studio_end_to_end(gateway: GatewayHandle, browser: Any, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{gateway.url}/")
    assert page.evaluate(
        "[...document.querySelectorAll('input, select, button')]"
        ".every(e => e.labels?.length || e.getAttribute('aria-label') || e.textContent.trim())"
    ), "every control has an accessible label"
    page.get_by_label("Photo (PNG, JPEG or WebP)").set_input_files(several_objects_photo(tmp_path))
    page.get_by_role("button", name="Generate").click()
    page.wait_for_function("window.meshpipeStudio.done !== null", timeout=300_000)
    page.wait_for_function(ALL_LOADED, timeout=180_000)
    done = page.evaluate("window.meshpipeStudio.done")
    boxes = page.locator("#boxes rect").count()
    cards = page.locator("#objects .card").count()
    object_viewers = page.locator("#objects model-viewer").count()
    assert boxes == cards >= 2, "one box and one card per detected object"
    assert object_viewers == page.locator("#objects .card.succeeded").count() >= 2
    scene_viewers = page.locator("#scene-slot model-viewer").count()
    assert done["scene"] and scene_viewers == 1, "a scene of every object in place"
    # The scene is rebuilt in place as objects finish: the viewer must show the last one.
    src = page.locator("#scene-slot model-viewer").get_attribute("src") or ""
    final = page.request.get(f"{gateway.url}{src.split('?')[0]}").body()
    assert src.endswith(f"?v={hashlib.sha256(final).hexdigest()[:16]}"), src
    assert rendered_pixels_vary(page, "#objects model-viewer")
    assert page.get_by_role("link", name="Download everything (.zip)").is_visible()
    shots = screenshots_dir(tmp_path)
    page.screenshot(path=str(shots / "studio.png"), full_page=True)
    job_url = page.url
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scrolling"
    page.screenshot(path=str(shots / "studio-phone.png"), full_page=True)
    assert problems == []

    again = browser.new_page(viewport={"width": 1280, "height": 900})
    again.goto(job_url)  # /jobs/{id}: the job comes back from its event log
    again.wait_for_function("window.meshpipeStudio.done !== null", timeout=120_000)
    again.wait_for_function(ALL_LOADED, timeout=180_000)
    assert again.locator("#objects model-viewer").count() == object_viewers
    assert again.locator("#boxes rect").count() == boxes
