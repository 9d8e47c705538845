"""Evaluation: metrics per task, trivial baselines, reports."""
