"""Tests for trainwell.advise; a package so test_cli.py does not clash with tests/test_cli.py."""
