"""One meshpipe system (four stages + orchestrator as real local processes) shared by the
end-to-end tests of the session: started on first use, stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from meshpipe.client import MeshpipeClient
from meshpipe.launcher.local import LocalSystem


@pytest.fixture(scope="session")
def meshpipe_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSystem]:
    root = tmp_path_factory.mktemp("meshpipe")
    system = LocalSystem(
        root / "run",
        root / "out",
        startup_timeout=120,
        grace=10,
        # no drain on restart: test_durability restarts it mid-job to prove resumption
        child_env={"orchestrator": {"MESHPIPE_ORCHESTRATOR_GRACE_SECONDS": "0"}},
    )
    with system:
        yield system


@pytest.fixture(scope="session")
def client(meshpipe_system: LocalSystem) -> Iterator[MeshpipeClient]:
    with MeshpipeClient(meshpipe_system.orchestrator_address, timeout=120) as c:
        yield c


@pytest.fixture(scope="session")
def out_dir(meshpipe_system: LocalSystem) -> Path:
    return meshpipe_system.output_dir
