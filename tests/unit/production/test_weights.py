"""Finding production weights on disk, naming what is missing, and pulling without a hub."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from meshpipe import weights
from meshpipe.errors import FailedPrecondition
from meshpipe.weights import WeightsSpec, locate, missing_any, missing_transformers_files, require


def transformers_spec(models_dir: Path, repo: str = "Org/Model") -> WeightsSpec:
    def missing(folder: Path) -> list[str]:
        return missing_transformers_files(folder) + missing_any(
            folder, "tokenizer.json", "vocab.json"
        )

    return WeightsSpec("detector", "qwen-vl", repo, str(models_dir), "hf-cache", missing)


def touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("x")


def test_hf_cache_snapshot_named_by_refs_main(tmp_path: Path) -> None:
    repo = tmp_path / "models--Org--Model"
    touch(repo / "snapshots" / "old", "config.json")
    touch(repo / "snapshots" / "abc123", "config.json", "model.safetensors", "tokenizer.json")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123\n")
    status = locate(transformers_spec(tmp_path))
    assert status.present and status.folder == repo / "snapshots" / "abc123"


def test_plain_layout_and_sharded_weights_name_the_missing_shard(tmp_path: Path) -> None:
    folder = tmp_path / "Org" / "Model"
    touch(folder, "config.json", "vocab.json", "model-00001-of-00002.safetensors")
    index = {
        "weight_map": {
            "a": "model-00001-of-00002.safetensors",
            "b": "model-00002-of-00002.safetensors",
        }
    }
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    status = locate(transformers_spec(tmp_path))
    assert status.folder == folder
    assert status.missing == ["model-00002-of-00002.safetensors"]
    with pytest.raises(FailedPrecondition, match=re.escape("model-00002-of-00002.safetensors")):
        require(transformers_spec(tmp_path))


def test_absolute_path_as_model_id(tmp_path: Path) -> None:
    folder = tmp_path / "my-model"
    touch(folder, "config.json", "model.safetensors", "tokenizer.json")
    assert require(transformers_spec(tmp_path / "elsewhere", repo=str(folder))) == folder


def test_nothing_on_disk_lists_every_required_file(tmp_path: Path) -> None:
    status = locate(transformers_spec(tmp_path))
    assert status.missing == ["config.json", "model.safetensors", "tokenizer.json or vocab.json"]


def test_pull_without_a_hub_fails_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("huggingface_hub", reason="huggingface_hub is needed for pulls")
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(weights.WeightsUnavailable, match="copy the files into"):
        weights.pull(transformers_spec(tmp_path), timeout=2.0)


def test_pull_is_a_no_op_when_present(tmp_path: Path) -> None:
    folder = tmp_path / "Org" / "Model"
    touch(folder, "config.json", "model.safetensors", "tokenizer.json")
    assert weights.pull(transformers_spec(tmp_path)) == folder


def shape_settings(**values: Any) -> Any:
    from services.shape.settings import ShapeSettings

    return ShapeSettings(**values)


def test_auto_picks_embedded_without_a_gpu(tiny_hunyuan: Path) -> None:
    settings = shape_settings(backend="auto", models_dir=str(tiny_hunyuan))
    assert all(locate(s).present for s in weights.production_specs("shape", settings))
    assert weights.auto_backend("shape", settings) == "embedded"  # weights yes, GPU no


def test_auto_selection_and_backend_info(
    monkeypatch: pytest.MonkeyPatch, tiny_hunyuan: Path
) -> None:
    from services.shape.backends import build_backend

    settings = shape_settings(backend="auto", models_dir=str(tiny_hunyuan), memory_profile="none")
    assert build_backend(settings).info.backend == "embedded-inflate"
    monkeypatch.setattr("meshpipe.torchdevice.cuda_available", lambda: True)
    assert weights.auto_backend("shape", settings) == "hunyuan3d"
    missing = shape_settings(backend="auto", models_dir=str(tiny_hunyuan / "nowhere"))
    assert weights.auto_backend("shape", missing) == "embedded"
