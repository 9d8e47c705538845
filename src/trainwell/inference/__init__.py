"""Inference: the model bundle, the predictor (and later export, benchmarking, serving)."""
