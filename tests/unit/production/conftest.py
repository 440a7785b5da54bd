"""Fixtures for the production backends: tiny models built once per session.

Each fixture skips, with the package named, when torch / transformers / hy3dgen / onnx
are not installed (CI installs them: see docs/backends.md). HF_HOME points at a
temporary folder so that trust_remote_code modules are copied there, not to ~/.cache.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.production.tiny_hunyuan import build_tiny_hunyuan, build_tiny_vae
from tests.unit.production.tiny_matting import build_red_channel_onnx, build_tiny_birefnet
from tests.unit.production.tiny_qwen import build_tiny_qwen3_vl


def require(*modules: str) -> None:
    """Skip the test when a module of the production extras is missing."""
    for name in modules:
        if importlib.util.find_spec(name) is None:
            pytest.skip(
                f"{name} is not installed (production backends need it; see docs/backends.md)"
            )


@pytest.fixture(scope="session", autouse=True)
def _isolated_hf_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ("HF_HOME", "HF_MODULES_CACHE", "HF_HUB_OFFLINE")}
    home = tmp_path_factory.mktemp("hf_home")
    os.environ.update(HF_HOME=str(home), HF_MODULES_CACHE=str(home / "modules"), HF_HUB_OFFLINE="1")
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def tiny_qwen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of a tiny Qwen3-VL model and processor."""
    require("torch", "torchvision", "transformers")
    return build_tiny_qwen3_vl(tmp_path_factory.mktemp("qwen") / "tiny-qwen3-vl")


@pytest.fixture(scope="session")
def tiny_hunyuan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An HY3DGEN_MODELS folder holding tiny tencent/Hunyuan3D-2mini checkpoints: v2-mini,
    and v2-mini-turbo with its FlashVDM VAE."""
    require("torch", "torchvision", "transformers", "diffusers", "hy3dgen", "pymeshlab")
    models = build_tiny_hunyuan(tmp_path_factory.mktemp("hy3dgen"))
    build_tiny_hunyuan(models, dit="hunyuan3d-dit-v2-mini-turbo")
    return build_tiny_vae(models)


@pytest.fixture(scope="session")
def tiny_birefnet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BiRefNet-layout trust_remote_code folder."""
    require("torch", "torchvision", "transformers")
    return build_tiny_birefnet(tmp_path_factory.mktemp("birefnet") / "BiRefNet")


@pytest.fixture(scope="session")
def red_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A u2net-shaped ONNX matting model inside its own rembg home folder."""
    require("onnx", "rembg")
    return build_red_channel_onnx(tmp_path_factory.mktemp("u2net_home") / "red-matte.onnx")
