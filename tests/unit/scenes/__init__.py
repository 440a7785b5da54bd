"""Synthetic scenes built from real image data, with known masks and boxes (shared by tests)."""
