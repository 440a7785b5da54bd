"""Hunyuan3D-2 Paint without compiled extensions: a pure-PyTorch rasteriser and the backend."""
