"""Finding a population of a gating tree by the name a lab gives it.

A population is named in config (the QC population, the claim populations) either
by its FlowJo/GatingML gate name, any characters allowed (``CD3+``, ``T cells``),
or by its gate path:

- ``CD38+``: the population whose own (leaf) name is ``CD38+``; it must occur once
  in the sample's gating tree;
- ``CD3+/CD38+``: the population whose path ends with these gates (the last gates
  of the path, whole names only);
- ``/Lymphocytes/Live/CD3+/CD38+``: the full path from the root.

A leaf name that occurs under several parents (``IFNg+`` under ``CD4+`` and under
``CD8+``) is ambiguous: the error lists every full path, so the config can name one.
This module reads population tables only; it never imports FlowKit.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


class PopulationLookupError(LookupError):
    """A population name or path found 0 or several times in one sample."""

    def __init__(self, spec: str, hits: Sequence[str], message: str) -> None:
        super().__init__(message)
        self.spec = spec
        self.hits = list(hits)
        self.message = message


def matching_paths(gate_paths: Sequence[str], leaves: Sequence[str], spec: str) -> list[str]:
    """Full gate paths (``A/B/C``) that ``spec`` names: by leaf name first, then by
    path (a leading ``/`` anchors it at the root, otherwise it is a path suffix)."""
    by_leaf = [p for p, leaf in zip(gate_paths, leaves) if leaf == spec]
    if by_leaf or "/" not in spec:
        return by_leaf
    if spec.startswith("/"):
        full = spec[1:]
        return [p for p in gate_paths if p == full]
    return [p for p in gate_paths if p == spec or p.endswith("/" + spec)]


def find_population(gate_paths: Sequence[str], leaves: Sequence[str], spec: str) -> str:
    """The one full gate path ``spec`` names, or :class:`PopulationLookupError`."""
    hits = matching_paths(gate_paths, leaves, spec)
    if len(hits) == 1:
        return hits[0]
    if not hits:
        message = (f"population {spec!r} found 0 times in the gating tree "
                   f"(name it by a gate name or a gate path such as /Parent/{spec})")
    else:
        listed = "; ".join("/" + h for h in sorted(hits))
        message = (f"population {spec!r} is ambiguous: found {len(hits)} times ({listed}); "
                   "name it by its gate path")
    raise PopulationLookupError(spec, hits, message)


def sample_row(rows: pd.DataFrame, spec: str) -> pd.Series:
    """The row of one sample's population table (columns ``population`` and
    ``gate_path``) that ``spec`` names."""
    paths = [str(p) for p in rows["gate_path"]]
    path = find_population(paths, [str(p) for p in rows["population"]], spec)
    return rows.iloc[paths.index(path)]


def tube_populations(populations: dict) -> dict[str, dict[str, str]]:
    """Config ``cytometry.populations`` -> tube -> {role: population name or path}:
    the populations the claims and figures read in each tube."""
    subsets = populations["subsets"]
    return {
        "phenotype": {"t_cells": populations["t_cells"], "cd38": populations["cd38"],
                      **{f"subset {k}": v for k, v in subsets.items()}},
        "function": {"t_cells": populations["t_cells"], "activation": populations["activation"],
                     "divided": populations["divided"]},
    }
