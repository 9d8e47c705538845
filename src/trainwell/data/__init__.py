"""Data: loading (files and bundled datasets), profiling, splitting, preprocessing, schema."""
