"""The results contract: names, figures and bytes of every output of ``geodx run``.

One module owns what the writer (:mod:`geodx.outputs`) writes and the service (``api/``)
reads: the file names, the columns, percentages, target flags and gaps, the indicator
-> target mapping, the default targets, RFC 7946 serialisation and the H3 roll-up of
the cell table. Neither side re-derives a rule: both call these functions.

The contract lives in parts, each re-exported here under its old name:

- :mod:`geodx.contract_names`: output files, columns, target keys, notes;
- :mod:`geodx.contract_figures`: percentages, target flags, gaps and gap tables;
- :mod:`geodx.contract_geojson`: RFC 7946 serialisation and JSON-safe values;
- :mod:`geodx.contract_cells`: the cell table, its H3 roll-up and the pyramid's files;
- :mod:`geodx.contract_views`: the per-operator, indoor, margin and measured views;
- this module: the inputs as ``summary.json`` names them.

The gap rule (issue 6 D11) is written out in :mod:`geodx.contract_figures`.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

# Every name of the parts, importable from here as before the split.
from geodx.contract_cells import (
    add_percentages,
    cell_totals,
    count_columns,
    pyramid_file,
    roll_up,
)
from geodx.contract_figures import (
    count,
    gap,
    gap_table,
    pct,
    pct_array,
    target_met,
    targets_from,
    with_gaps,
)
from geodx.contract_geojson import (
    clean,
    collection_bytes,
    feature_bytes,
    records,
    rfc7946,
    serialise,
    with_members,
)
from geodx.contract_names import (
    CELL_COLUMNS,
    CELLS_FILE,
    COMMUNE_COLUMNS,
    COMMUNES_FILE,
    COUNT_SUFFIX,
    DECIMALS,
    DEFAULT_TARGETS,
    DISTRICT_COLUMNS,
    DISTRICTS_FILE,
    ESTIMATE_KEYS,
    ESTIMATED_MEMBER,
    ESTIMATED_NOTE,
    EXTENSION_COL,
    GAP_COLUMNS,
    GAP_INDICATORS,
    H3_COL,
    ID_COLUMNS,
    INDICATORS,
    MAP_ENTRY_KEYS,
    MAP_INDEX_FILE,
    MAP_INDEX_FORMAT,
    MAP_LAYER_TYPES,
    MAP_LAYERS_DIR,
    MET_COLUMNS,
    OUTPUT_FILES,
    PCT_DECIMALS,
    PLAN_COLUMNS,
    PLAN_FILE,
    PYRAMID_DIR,
    PYRAMID_MIN_RESOLUTION,
    SUMMARY_FILE,
    SUMMARY_KEYS,
    SYNTHETIC_NOTE,
    TARGET_KEYS,
)
from geodx.contract_views import (
    ALL_OPERATORS_COLUMN,
    INDOOR_COLUMN,
    MARGIN_COLUMNS,
    MARGIN_DB,
    MEASURED_BELOW_COLUMN,
    MEASURED_DEFINITIONS,
    MEASURED_PARTS,
    OPERATOR_COUNT_COLUMNS,
    OPERATOR_KINDS,
    SENSITIVE_COLUMN,
    SENSITIVE_COUNT,
    VIEW_DEFINITIONS,
    ViewColumn,
    indoor_layer_column,
    measured_columns,
    operator_column,
    sensitive,
    view_columns,
)

__all__ = [
    "ALL_OPERATORS_COLUMN",
    "CELLS_FILE",
    "CELL_COLUMNS",
    "COMMUNES_FILE",
    "COMMUNE_COLUMNS",
    "COUNT_SUFFIX",
    "DECIMALS",
    "DEFAULT_TARGETS",
    "DISTRICTS_FILE",
    "DISTRICT_COLUMNS",
    "ESTIMATED_MEMBER",
    "ESTIMATED_NOTE",
    "ESTIMATE_KEYS",
    "EXTENSION_COL",
    "GAP_COLUMNS",
    "GAP_INDICATORS",
    "H3_COL",
    "ID_COLUMNS",
    "INDICATORS",
    "INDOOR_COLUMN",
    "MAP_ENTRY_KEYS",
    "MAP_INDEX_FILE",
    "MAP_INDEX_FORMAT",
    "MAP_LAYERS_DIR",
    "MAP_LAYER_TYPES",
    "MARGIN_COLUMNS",
    "MARGIN_DB",
    "MEASURED_BELOW_COLUMN",
    "MEASURED_DEFINITIONS",
    "MEASURED_PARTS",
    "MET_COLUMNS",
    "OPERATOR_COUNT_COLUMNS",
    "OPERATOR_KINDS",
    "OUTPUT_FILES",
    "PCT_DECIMALS",
    "PLAN_COLUMNS",
    "PLAN_FILE",
    "PYRAMID_DIR",
    "PYRAMID_MIN_RESOLUTION",
    "SENSITIVE_COLUMN",
    "SENSITIVE_COUNT",
    "SUMMARY_FILE",
    "SUMMARY_KEYS",
    "SYNTHETIC_NOTE",
    "TARGET_KEYS",
    "VIEW_DEFINITIONS",
    "ViewColumn",
    "add_percentages",
    "cell_totals",
    "clean",
    "collection_bytes",
    "count",
    "count_columns",
    "feature_bytes",
    "gap",
    "gap_table",
    "indoor_layer_column",
    "input_path",
    "measured_columns",
    "operator_column",
    "pct",
    "pct_array",
    "public_inputs",
    "pyramid_file",
    "records",
    "rfc7946",
    "roll_up",
    "sensitive",
    "serialise",
    "target_met",
    "targets_from",
    "view_columns",
    "with_gaps",
    "with_members",
]


# --- summary.json -------------------------------------------------------------------
def input_path(path: str | PurePath, root: str | PurePath | None) -> str:
    """An input's path as written in ``summary.json``, never a machine's absolute path.

    Relative to the manifest folder ``root``, or only the file name when outside it
    (or when ``root`` is unknown).

    Examples
    --------
    >>> input_path("/r/a/b.csv", "/r"), input_path("/elsewhere/x.tif", "/r")
    ('a/b.csv', 'x.tif')
    >>> input_path("a/b.csv", None), input_path("../up/c.csv", None)
    ('a/b.csv', 'c.csv')
    """
    p = PurePath(path)
    if not p.is_absolute():
        return p.name if ".." in p.parts else str(p)
    if root is not None:
        try:
            return str(p.relative_to(PurePath(root)))
        except ValueError:
            pass
    return p.name


def public_inputs(inputs: Any, root: str | PurePath | None = None) -> Any:
    """``summary["inputs"]`` with every ``path`` (sidecars too) made public."""
    if isinstance(inputs, list):
        return [public_inputs(x, root) for x in inputs]
    if not isinstance(inputs, dict):
        return inputs
    out = dict(inputs)
    if isinstance(out.get("path"), str):
        out["path"] = input_path(out["path"], root)
    if "sidecars" in out:
        out["sidecars"] = public_inputs(out["sidecars"], root)
    return out
