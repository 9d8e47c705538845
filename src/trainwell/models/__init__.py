"""Model architectures: one literal table (registry.py) from name to builder, saver and loader."""
