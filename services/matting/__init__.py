"""Matting stage: crop -> RGBA with an alpha matte (rembg sessions)."""
