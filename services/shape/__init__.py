"""Shape stage: RGBA object image -> closed, untextured mesh (GLB)."""
