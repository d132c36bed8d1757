"""The results contract: names, figures and bytes of every output of ``geodx run``.

One module owns what the writer (:mod:`geodx.outputs`) writes and the service (``api/``)
reads: the file names, the columns, percentages, target flags and gaps, the indicator
-> target mapping, the default targets, RFC 7946 serialisation and the H3 roll-up of
the cell table. Neither side re-derives a rule: both call these functions.

The contract lives in parts:

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
