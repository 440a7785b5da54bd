"""The four stage services. Each folder holds its backends, settings and a thin servicer."""
