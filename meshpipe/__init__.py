"""meshpipe: photo in, one textured 3D mesh per object out."""

__version__ = "0.1.0"
