"""Regime data: validated in-memory tables, chunk streams and dask frames, one per regime."""

from jointeffects.estimate.regimes.streams import (
    RegimeChunks,
    RegimeSource,
    RegimeStreams,
    as_regime_streams,
    has_streams,
    is_dask,
    is_stream,
)
from jointeffects.estimate.regimes.tables import (
    MAX_ABS_VALUE,
    MIN_ROWS,
    OBSERVATIONAL_LABELS,
    ROW_CHUNK,
    Regime,
    RegimeData,
    as_regime_data,
    frame_to_arrays,
    parse_regime_key,
    query_array,
    regime_label,
    row_chunks,
)

__all__ = [
    "MAX_ABS_VALUE",
    "MIN_ROWS",
    "OBSERVATIONAL_LABELS",
    "ROW_CHUNK",
    "Regime",
    "RegimeChunks",
    "RegimeData",
    "RegimeSource",
    "RegimeStreams",
    "as_regime_data",
    "as_regime_streams",
    "frame_to_arrays",
    "has_streams",
    "is_dask",
    "is_stream",
    "parse_regime_key",
    "query_array",
    "regime_label",
    "row_chunks",
]
