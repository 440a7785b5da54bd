"""Prepare the Docker build context of the service images from a local wheelhouse.

    python deploy/docker/wheelhouse.py --context build/docker-context [--offline]

* The wheelhouse (a cache, default ~/.cache/meshpipe-deploy/wheelhouse) holds every
  third-party wheel of `meshpipe[all]`. It is completed from the package index only when an
  offline resolution fails and --offline is not given, so a warm cache never needs a network.
* The context gets `meshpipe/` (a fresh wheel of this tree), `deps/<extra>/` (the
  third-party wheels of `meshpipe[<extra>]`, for every extra an image of the stage catalogue
  installs, hard-linked from the wheelhouse) and
  `requirements/<extra>.txt` (their pinned list), so that an image build installs its
  dependencies in one layer that stays cached until that service's dependencies change,
  and the project in a second, small one.

Wheels are built for the interpreter running this script: it must be the base image's
Python version (build-images.sh checks that).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from meshpipe import catalogue

REPO = Path(__file__).resolve().parents[2]
log = logging.getLogger("wheelhouse")


def pip(*args: str) -> subprocess.CompletedProcess[str]:
    """Run this interpreter's pip quietly; raise with pip's output on failure.

    SOURCE_DATE_EPOCH makes the project wheel reproducible: an unchanged tree gives the
    same bytes, so Docker's layer cache skips the project layer too.
    """
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    env = {**os.environ, "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", "315532800")}
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[2:5])} ... failed:\n{proc.stdout}{proc.stderr}")
    return proc


def build_project_wheel(out: Path) -> Path:
    """A wheel of this working tree (no build isolation: works without an index)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    # setuptools stages files in build/lib and never prunes it: start clean, or modules
    # deleted from the tree would still ship.
    for staged in (*REPO.glob("build/lib*"), *REPO.glob("build/bdist*")):
        shutil.rmtree(staged, ignore_errors=True)
    pip("wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w", str(out), str(REPO))
    return next(out.glob("meshpipe-*.whl"))


def fill_wheelhouse(wheelhouse: Path, project_wheel: Path, offline: bool) -> None:
    """Make sure the wheelhouse resolves meshpipe[all,runpod]; download what is missing if
    allowed."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    requirement = f"meshpipe[all,runpod] @ {project_wheel.as_uri()}"
    local = ["--no-index", "--find-links", str(wheelhouse)]
    try:
        pip("wheel", "--quiet", "-w", str(wheelhouse), *local, requirement)
        log.info("wheelhouse %s complete (offline)", wheelhouse)
    except RuntimeError:
        if offline:
            raise
        log.info("completing wheelhouse %s from the package index", wheelhouse)
        pip("wheel", "--quiet", "-w", str(wheelhouse), "--find-links", str(wheelhouse), requirement)
    for stale in wheelhouse.glob("meshpipe-*.whl"):
        stale.unlink()


def closure(service: str, wheelhouse: Path, project_wheel: Path) -> dict[str, str]:
    """name -> version of everything `meshpipe[service]` installs, meshpipe excluded."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        pip(
            "install", "--quiet", "--dry-run", "--ignore-installed", "--no-index",
            "--find-links", str(wheelhouse), "--report", str(report),
            f"meshpipe[{service}] @ {project_wheel.as_uri()}",
        )  # fmt: skip
        installs = json.loads(report.read_text())["install"]
    found = {item["metadata"]["name"]: item["metadata"]["version"] for item in installs}
    found.pop("meshpipe", None)
    return found


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link when possible (same file system), copy otherwise."""
    if dst.exists():
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def wheel_files(wheelhouse: Path, pins: dict[str, str]) -> list[Path]:
    """The wheelhouse files of the pinned distributions."""
    wanted = {(_normalise(n), v) for n, v in pins.items()}
    files = []
    for wheel in wheelhouse.glob("*.whl"):
        name, version = wheel.name.split("-")[:2]
        if (_normalise(name), version) in wanted:
            files.append(wheel)
    if len(files) != len(wanted):
        raise RuntimeError(f"wheelhouse lacks some of {sorted(wanted)}")
    return files


def _normalise(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def prepare_context(context: Path, wheelhouse: Path, offline: bool) -> None:
    """Fill `context` with meshpipe/, deps/ and requirements/ (see the module docstring)."""
    project_wheel = build_project_wheel(context / "meshpipe")
    fill_wheelhouse(wheelhouse, project_wheel, offline)
    deps, reqs = context / "deps", context / "requirements"
    shutil.rmtree(deps, ignore_errors=True)
    shutil.rmtree(reqs, ignore_errors=True)
    deps.mkdir()
    reqs.mkdir()
    for service in dict.fromkeys(catalogue.image_extras().values()):
        pins = closure(service, wheelhouse, project_wheel)
        lines = [f"{name}=={version}\n" for name, version in sorted(pins.items())]
        (reqs / f"{service}.txt").write_text("".join(lines))
        (deps / service).mkdir()
        for wheel in wheel_files(wheelhouse, pins):
            link_or_copy(wheel, deps / service / wheel.name)
        log.info("%s: %d dependencies", service, len(pins))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--context", type=Path, help="build context to fill")
    cache = Path(os.environ.get("MESHPIPE_DEPLOY_CACHE", "~/.cache/meshpipe-deploy"))
    parser.add_argument(
        "--wheelhouse", type=Path, default=cache.expanduser() / "wheelhouse", help="wheel cache"
    )
    parser.add_argument("--offline", action="store_true", help="never use the package index")
    parser.add_argument(
        "--list-images",
        action="store_true",
        help="print 'image-target extra' per service image (from the stage catalogue) and exit",
    )
    args = parser.parse_args()
    if args.list_images:
        lines = (f"{target} {extra}\n" for target, extra in catalogue.image_extras().items())
        sys.stdout.write("".join(lines))
        return 0
    if args.context is None:
        parser.error("--context is required")
    logging.basicConfig(level=logging.INFO, format="[wheelhouse] %(message)s")
    args.context.mkdir(parents=True, exist_ok=True)
    prepare_context(args.context.resolve(), args.wheelhouse.resolve(), args.offline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
