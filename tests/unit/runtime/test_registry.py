"""Backend selection shared by the four stages."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from meshpipe.runtime.registry import build_backend_from
from tests.unit.runtime.fakes import FakeBackend

TABLE = {"fake": "tests.unit.runtime.fakes:FakeBackend", "wrong": "builtins:repr"}


def test_named_backend_is_imported_and_built() -> None:
    backend = build_backend_from("shape", SimpleNamespace(backend="fake"), TABLE, FakeBackend)
    assert isinstance(backend, FakeBackend)


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match=r"unknown shape backend 'nope' \(known: auto, fake, wrong\)"
    ):
        build_backend_from("shape", SimpleNamespace(backend="nope"), TABLE, FakeBackend)


def test_a_registry_entry_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(TypeError, match="is not a FakeBackend"):
        build_backend_from("shape", SimpleNamespace(backend="wrong"), TABLE, FakeBackend)
