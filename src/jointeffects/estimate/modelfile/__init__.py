"""Model files: a fitted estimator, its diagnostics and uncertainty as validated JSON."""
