"""Regime data: validated in-memory tables, chunk streams and dask frames, one per regime."""
