"""Shared utilities: seeding, determinism, environment capture, logging setup, hashing."""
