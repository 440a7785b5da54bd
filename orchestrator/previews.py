"""Preview images: one PNG per object (512 x 512, three-quarter view, lit, textured,
transparent background) and a contact sheet per job. Rendered on the CPU by meshpipe's own
numpy rasteriser (`meshpipe.render`): no OpenGL, no torch. Blocking: call off the loop."""

from __future__ import annotations

import io
import math

import trimesh
from PIL import Image, ImageDraw, ImageFont

from meshpipe.images import encode_png
from meshpipe.render import View, render
from orchestrator.meshes import surface_of

PREVIEW_VIEW = View(size=512)
SHEET_TILE = 256
SHEET_COLUMNS = 4
SHEET_LABEL = 22  # pixels of caption under each tile
SHEET_BACKGROUND = (244, 244, 242, 255)


def preview_png(meshes: list[trimesh.Trimesh], view: View = PREVIEW_VIEW) -> bytes:
    """The object's preview as RGBA PNG bytes."""
    pixels = render([surface_of(m) for m in meshes], view)
    return encode_png(Image.fromarray(pixels, "RGBA"), compress_level=1)


def contact_sheet_png(items: list[tuple[str, bytes]]) -> bytes:
    """A grid of (caption, preview PNG) tiles, captions underneath, on a light background."""
    columns = max(1, min(SHEET_COLUMNS, len(items)))
    rows = max(1, math.ceil(len(items) / columns))
    cell_h = SHEET_TILE + SHEET_LABEL
    sheet = Image.new("RGBA", (columns * SHEET_TILE, rows * cell_h), SHEET_BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for n, (caption, png) in enumerate(items):
        x, y = (n % columns) * SHEET_TILE, (n // columns) * cell_h
        with Image.open(io.BytesIO(png)) as tile:
            thumb = tile.convert("RGBA").resize((SHEET_TILE, SHEET_TILE), Image.Resampling.BOX)
        sheet.alpha_composite(thumb, (x, y))
        draw.text((x + 6, y + SHEET_TILE + 4), caption, fill=(40, 40, 40, 255), font=font)
    return encode_png(sheet)
