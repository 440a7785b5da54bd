"""`meshpipe weights list / pull` on production folders (settings from the environment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshpipe.cli.main import main


def test_list_shows_present_and_missing(
    tiny_hunyuan: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MESHPIPE_SHAPE_MODELS_DIR", str(tiny_hunyuan))
    monkeypatch.setenv("MESHPIPE_DETECTOR_MODELS_DIR", str(tiny_hunyuan / "no-hub-cache"))
    assert main(["weights", "list", "shape", "detector"]) == 0
    lines = capsys.readouterr().out.splitlines()
    shape = next(line for line in lines if line.startswith("shape"))
    detector = next(line for line in lines if line.startswith("detector"))
    assert "hunyuan3d" in shape and "present" in shape and "Hunyuan3D-2mini" in shape
    assert "qwen-vl" in detector and "missing" in detector and "config.json" in detector


def test_pull_without_a_hub_exits_1_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("huggingface_hub", reason="huggingface_hub is needed for pulls")
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("MESHPIPE_SHAPE_MODELS_DIR", str(tmp_path))
    assert main(["weights", "pull", "shape", "--timeout", "2"]) == 1
    out = capsys.readouterr().out
    assert "could not download tencent/Hunyuan3D-2mini" in out
    assert str(tmp_path / "tencent/Hunyuan3D-2mini") in out


def test_unknown_stage_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["weights", "list", "bogus"])
    assert exit_info.value.code == 2
    assert "unknown stage 'bogus'" in capsys.readouterr().err
