"""Intervals of every estimator: bootstrap, sandwich, bias terms and trust flags."""
