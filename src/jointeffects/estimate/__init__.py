"""estimate part of jointeffects."""
