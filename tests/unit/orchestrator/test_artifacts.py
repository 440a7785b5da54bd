"""Artifact folders: atomic no-overwrite writes, traversal refused, chunked reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshpipe.errors import NotFound
from orchestrator.artifacts import ArtifactStore, stream_chunks

JOB = "20260101-120000-abcdef"


def test_write_never_overwrites(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    first = store.write(JOB, "meshes/000_mug.glb", b"one", "mesh")
    second = store.write(JOB, "meshes/000_mug.glb", b"two", "mesh")
    assert first.relative_path == "meshes/000_mug.glb"
    assert second.relative_path == "meshes/000_mug.r1.glb"
    assert store.read(JOB, first.relative_path) == b"one"
    assert store.read(JOB, second.relative_path) == b"two"
    assert second.artifact_id == f"{JOB}:meshes/000_mug.r1.glb"
    assert second.media_type == "model/gltf-binary" and second.size_bytes == 3
    assert not list((tmp_path / JOB).rglob("*.tmp"))


def test_replace_is_explicit(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    store.write(JOB, "manifest.json", b"{}", "manifest")
    again = store.write(JOB, "manifest.json", b'{"a": 1}', "manifest", replace=True)
    assert again.relative_path == "manifest.json"
    assert store.read(JOB, "manifest.json") == b'{"a": 1}'


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "crops/../../x", "", ".", "crops/.."])
def test_paths_leaving_the_job_folder_are_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(NotFound):
        ArtifactStore(tmp_path).path(JOB, path)


def test_symlink_out_of_the_job_folder_is_refused(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    (tmp_path / JOB).mkdir()
    (tmp_path / JOB / "link").symlink_to(tmp_path)
    with pytest.raises(NotFound):
        store.path(JOB, "link/jobs.sqlite3")


@pytest.mark.parametrize("job_id", ["../etc", "2026", "20260101-120000-ABCDEF"])
def test_malformed_job_ids_are_not_found(tmp_path: Path, job_id: str) -> None:
    with pytest.raises(NotFound):
        ArtifactStore(tmp_path).job_dir(job_id)


async def test_chunks_are_bounded_and_reassemble(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10_000  # 2.56 MB
    path = tmp_path / "blob"
    path.write_bytes(data)
    chunks = [c async for c in stream_chunks(path.open("rb"), chunk_bytes=1 << 20)]
    assert [len(d) for _, d, _ in chunks] == [1 << 20, 1 << 20, len(data) - (2 << 20)]
    assert [o for o, _, _ in chunks] == [0, 1 << 20, 2 << 20]
    assert {t for _, _, t in chunks} == {len(data)}
    assert b"".join(d for _, d, _ in chunks) == data


async def test_empty_file_is_one_empty_chunk(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    assert [c async for c in stream_chunks((tmp_path / "empty").open("rb"))] == [(0, b"", 0)]
