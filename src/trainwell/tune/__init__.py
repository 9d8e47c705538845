"""Hyperparameter tuning: Optuna on one machine, Ray Tune across a cluster, every trial tracked.

``trainwell tune CONFIG`` runs a study over the config's ``tune.space`` (or the architecture's
default space), trains the best config once with ``train`` and evaluates it once on the test
split. Modules, in the order a study uses them:

* ``space``: validate a search space against the config and the estimator, sample it;
* ``defaults``: the default space of every architecture;
* ``objective``: one trial (fit, intermediate scores for pruning, validation score);
* ``optuna_backend`` / ``ray_backend``: run the trials;
* ``tracking``: the study's MLflow parent run and a nested run per trial;
* ``report``: best config YAML, trial table, plots, the rich summary;
* ``pipeline``: the whole job, step by step; ``cli``: the command.
"""
