"""Helpers shared by tests (process starters, clients)."""
