"""Unit tests of the GPU lease arbiter and the scheduling policy."""
