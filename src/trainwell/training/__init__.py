"""Training: the experiment pipeline, the fit path for estimators, the torch training loop."""
