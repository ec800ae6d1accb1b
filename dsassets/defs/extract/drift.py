"""Drifted API values in a materialization's metadata and the run log."""

import dagster as dg

from dsassets.lib.lake.coerce import Drift


def drift_metadata(context, dataset: str, drift: Drift) -> dict:
    """Per-field counts of drifted values for the materialization; a warning in the run log when
    values had to be set null (find them with ``where _invalid_fields is not null``)."""
    if drift.invalid_total:
        context.log.warning(
            f"{dataset}: {drift.invalid_total} value(s) of an unexpected type stored as null "
            f"(per field: {dict(drift.invalid)}); each record keeps them in _raw and names them in "
            "_invalid_fields"
        )
    counts = drift.metadata()
    return {
        "coerced_values": dg.MetadataValue.json(counts["coerced"]),
        "invalid_values": dg.MetadataValue.json(counts["invalid"]),
        "invalid_value_count": dg.MetadataValue.int(drift.invalid_total),
    }
