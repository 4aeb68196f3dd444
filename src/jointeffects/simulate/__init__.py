"""simulate part of jointeffects."""
