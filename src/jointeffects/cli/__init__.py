"""cli part of jointeffects."""
