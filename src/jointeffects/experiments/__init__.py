"""experiments part of jointeffects."""
