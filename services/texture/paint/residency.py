"""Where the paint models' weights live between and during requests.

* everything resident (default): both pipelines on the device while the stage is RESIDENT;
* ``one_model_at_a_time`` (CUDA): both wait in pinned host memory; each moves to the GPU
  for its step and is parked (GPU memory returned) before the next one runs;
* ``offload`` model/sequential (CUDA): diffusers' hooks move components themselves; after a
  step its hooks are reset so nothing stays on the GPU.

On the CPU nothing moves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from meshpipe import torchdevice
from services.texture.paint.models import PaintModel
from services.texture.paint.settings import PaintSettings


class Residency:
    """Moves `models` between host and `device` according to `settings`."""

    def __init__(self, models: list[PaintModel], device: Any, settings: PaintSettings) -> None:
        self.models = models
        self.device = device
        cuda = device.type == "cuda"
        self.offloaded = cuda and settings.offload != "none"
        self.one_at_a_time = cuda and not self.offloaded and settings.one_model_at_a_time

    @property
    def always_resident(self) -> bool:
        return self.device.type == "cuda" and not (self.offloaded or self.one_at_a_time)

    def place(self) -> None:
        """After loading (models are in host memory): put resident models on the device."""
        if self.always_resident:
            torchdevice.wake(self._modules(self.models), self.device)
        elif self.one_at_a_time:
            torchdevice.park(self._modules(self.models))

    @contextmanager
    def use(self, model: PaintModel) -> Iterator[None]:
        """Make `model` runnable on the device for the body, then release what it held."""
        if self.one_at_a_time:
            torchdevice.wake(model.modules(), self.device)
        try:
            yield
        finally:
            if self.one_at_a_time:
                torchdevice.park(model.modules())
            elif self.offloaded:
                model.pipeline.maybe_free_model_hooks()
                torchdevice.release_cached()

    def park(self) -> None:
        """RESIDENT -> PARKED: nothing of ours stays on the device."""
        if self.always_resident:
            torchdevice.park(self._modules(self.models))
        torchdevice.release_cached()

    def wake(self) -> None:
        """PARKED -> RESIDENT."""
        if self.always_resident:
            torchdevice.wake(self._modules(self.models), self.device)

    @staticmethod
    def _modules(models: list[PaintModel]) -> list[Any]:
        return [m for model in models for m in model.modules()]
