"""Camera sets painted by the multiview model, and hy3dgen's camera ids for them.

Six views are upstream's (Hunyuan3DTexGenConfig): front, right, back, left, top, bottom
with bake weights favouring the front. Four drop top and bottom (the model attends across
however many views it is given); three keep front and two back-quarter views, 120 degrees
apart, for the smallest GPUs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ViewSet:
    """Cameras (elevation, azimuth in degrees) and their weights in the bake."""

    elevs: tuple[int, ...]
    azims: tuple[int, ...]
    weights: tuple[float, ...]

    def camera_info(self) -> list[int]:
        """The multiview model's camera-embedding ids (hy3dgen's formula)."""
        step = {-20: 1, 0: 1, 20: 1, -90: 3, 90: 3}
        base = {-20: 0, 0: 12, 20: 24, -90: 36, 90: 40}
        return [
            (((azim // 30) + 9) % 12) // step[elev] + base[elev]
            for azim, elev in zip(self.azims, self.elevs, strict=True)
        ]


VIEW_SETS: dict[int, ViewSet] = {
    6: ViewSet((0, 0, 0, 0, 90, -90), (0, 90, 180, 270, 0, 180), (1, 0.1, 0.5, 0.1, 0.05, 0.05)),
    4: ViewSet((0, 0, 0, 0), (0, 90, 180, 270), (1, 0.1, 0.5, 0.1)),
    3: ViewSet((0, 0, 0), (0, 120, 240), (1, 0.3, 0.3)),
}
