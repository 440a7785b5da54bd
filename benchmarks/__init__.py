"""Benchmarks and simulators (run as scripts or `python -m benchmarks.<name>`)."""
