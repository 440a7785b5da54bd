"""`meshpipe serve` starts the HTTP gateway with everything else and prints where it is."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def test_serve_prints_the_http_address_and_the_gateway_answers(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "meshpipe.cli.main", "serve", "--port", "0", "--http-port", "0"]
    argv += ["--out", str(tmp_path / "out"), "--run-dir", str(tmp_path / "run")]
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ)
    )
    try:
        url = ""
        deadline = time.monotonic() + 180
        assert process.stdout is not None
        for line in process.stdout:
            match = re.match(r"^http: (http://127\.0\.0\.1:\d+)", line)
            if match:
                url = match.group(1)
            if line.startswith("serving;") or time.monotonic() > deadline:
                break
        assert url, "serve printed no http: line"
        assert httpx.get(f"{url}/readyz", timeout=10).json()["status"] == "ready"
        assert "text/html" in httpx.get(f"{url}/", timeout=10).headers["content-type"]
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
    assert (tmp_path / "run" / "gateway.log").is_file()
