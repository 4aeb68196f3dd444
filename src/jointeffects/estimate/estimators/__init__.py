"""The estimators of joint and mixed effects, the baselines, and the registry that names them."""
