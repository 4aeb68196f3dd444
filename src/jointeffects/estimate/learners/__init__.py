"""The polynomial ridge learner, its sufficient statistics and the tests of its fit."""
