"""Supervisor: a dead child is restarted (bounded, logged); live ones are left alone."""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

import pytest

from meshpipe.launcher.process import ChildProcess, LaunchError, spawn
from meshpipe.launcher.supervisor import Supervisor


def child(tmp_path: Path, name: str, seconds: float) -> ChildProcess:
    code = f"import time; time.sleep({seconds})"
    # spawn() appends --ready-file PATH, which `python -c` passes on as argv
    return spawn(name, [sys.executable, "-c", code], tmp_path)


def test_dead_children_are_restarted_a_bounded_number_of_times(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    children = {"shape": child(tmp_path, "shape", 0), "matting": child(tmp_path, "matting", 30)}
    children["shape"].popen.wait(10)
    restarted: list[str] = []

    def restart(name: str) -> None:
        restarted.append(name)
        if len(restarted) == 2:
            raise LaunchError("shape not ready")
        children[name] = child(tmp_path, name, 0)
        children[name].popen.wait(10)

    sup = Supervisor(("shape", "matting"), lambda: children, restart, threading.RLock(), 3)
    with caplog.at_level(logging.WARNING):
        rounds = [sup.poll() for _ in range(5)]
    children["matting"].popen.kill()
    assert rounds == [["shape"], [], ["shape"], [], []]  # the 2nd restart failed, logged
    assert restarted == ["shape"] * 3 and sup.restarts == {"shape": 3}
    assert sup.given_up == {"shape"}
    assert "restarting it (1 of at most 3 in 60s)" in caplog.text
    assert "restarting shape failed: shape not ready" in caplog.text
    assert caplog.text.count("giving up") == 1


def test_the_thread_restarts_and_stops(tmp_path: Path) -> None:
    children = {"texture": child(tmp_path, "texture", 0)}
    done = threading.Event()

    def restart(name: str) -> None:
        children[name] = child(tmp_path, name, 30)
        done.set()

    sup = Supervisor(("texture",), lambda: children, restart, threading.RLock(), interval=0.02)
    sup.start()
    try:
        assert done.wait(10)
        time.sleep(0.1)
        assert sup.restarts == {"texture": 1}
    finally:
        sup.stop()
        children["texture"].popen.kill()
        children["texture"].popen.wait(5)


def test_the_budget_is_per_window_so_a_long_lived_stage_is_always_restarted(
    tmp_path: Path,
) -> None:
    now = [0.0]
    children = {"shape": child(tmp_path, "shape", 0)}

    def restart(name: str) -> None:
        children[name] = child(tmp_path, name, 0)
        children[name].popen.wait(10)

    sup = Supervisor(
        ("shape",),
        lambda: children,
        restart,
        threading.RLock(),
        2,
        window_seconds=60.0,
        clock=lambda: now[0],
    )
    children["shape"].popen.wait(10)
    for t in (0.0, 30.0, 61.0, 95.0):  # never more than 2 within 60 s
        now[0] = t
        assert sup.poll() == ["shape"]
    assert sup.restarts == {"shape": 4} and not sup.given_up
    now[0] = 100.0  # a 3rd restart within 60 s of the 61 s and 95 s ones: a crash loop
    assert sup.poll() == [] and sup.given_up == {"shape"}


def test_will_restart_tells_callers_not_to_give_up(tmp_path: Path) -> None:
    children = {"shape": child(tmp_path, "shape", 30)}
    sup = Supervisor(("shape",), lambda: children, lambda name: None, threading.RLock(), 1)
    assert not sup.will_restart("shape")  # not running yet
    sup.start()
    try:
        assert sup.will_restart("shape") and not sup.will_restart("orchestrator")
        sup.given_up.add("shape")
        assert not sup.will_restart("shape")
    finally:
        sup.stop()
        children["shape"].popen.kill()
        children["shape"].popen.wait(5)
    assert not sup.will_restart("shape")
