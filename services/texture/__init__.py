"""Texture stage: mesh GLB + RGBA object image -> textured GLB."""
