"""Detector stage: photo (+ optional categories) -> object boxes."""
