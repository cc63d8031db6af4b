"""Gating of FCS files with FlowKit: a GatingML 2.0 strategy (or a FlowJo 10
workspace), compensation from the file's ``$SPILLOVER``, a logicle or asinh scale.

Every failure caused by the input raises :class:`aiha.errors.InputError` naming the
file and, where it applies, the channel or keyword.

FlowKit notes (see the project's performance facts): ``GatingStrategy.gate_sample``
is called directly with ``cache_events=True``, so each (channel, transform) pair is
transformed once per sample; ``Session.analyze_samples`` would drop the flag.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import flowkit as fk
from flowkit.exceptions import QuadrantReferenceError

from aiha.errors import InputError

POPULATION_COLUMNS = ["sample_id", "population", "gate_path", "parent", "count", "percent_of_parent"]
QC_COLUMNS = ["sample_id", "events_acquired", "events_kept", "percent_kept", "qc_flag"]


def iter_gates(strategy: fk.GatingStrategy) -> Iterable[Any]:
    """Every gate object of a strategy (a quadrant gate once, not per quadrant)."""
    seen: set[int] = set()
    for name, path in strategy.get_gate_ids():
        try:
            gate = strategy.get_gate(name, path)
        except QuadrantReferenceError:
            continue
        if id(gate) not in seen:
            seen.add(id(gate))
            yield gate


def _dimension_channel(dim: Any) -> str | None:
    if isinstance(dim, fk.QuadrantDivider):
        return str(dim.dimension_ref)
    if isinstance(dim, fk.RatioDimension):
        return None
    return str(dim.id)


def required_channels(strategy: fk.GatingStrategy) -> dict[str, bool]:
    """Channel (PnN or PnS label) -> whether a gate needs it compensated."""
    needed: dict[str, bool] = {}
    for gate in iter_gates(strategy):
        for dim in getattr(gate, "dimensions", []):
            channel = _dimension_channel(dim)
            if channel is None:
                continue
            comp = dim.compensation_ref not in (None, "uncompensated")
            matrix = strategy.comp_matrices.get(dim.compensation_ref) if comp else None
            if matrix is not None and channel in matrix.fluorochromes:
                # FlowJo names compensated dimensions by the matrix ("Comp-FITC-A")
                channel = matrix.detectors[matrix.fluorochromes.index(channel)]
            needed[channel] = needed.get(channel, False) or comp
    return needed


def _remap_bounds(strategy: fk.GatingStrategy, source_ids: set[str], mapper: Any,
                  new_ref: Any, what: str) -> None:
    """Map every rectangle/quadrant bound on a dimension whose transform is in
    ``source_ids`` through ``mapper(value, transform_id)`` and point the dimension
    at ``new_ref(transform_id)``. A polygon on such a dimension is refused."""
    for gate in iter_gates(strategy):
        for dim in getattr(gate, "dimensions", []):
            xid = getattr(dim, "transformation_ref", None)
            if xid not in source_ids:
                continue
            if isinstance(gate, fk.gates.PolygonGate):
                raise ValueError(
                    f"gate {gate.gate_name!r}: a polygon on a transformed dimension cannot be "
                    f"re-expressed {what}; author it for that scale"
                )
            if isinstance(dim, fk.QuadrantDivider):
                dim.values = [mapper(v, xid) for v in dim.values]
                for quadrant in gate.quadrants.values():
                    if dim.id in quadrant.divider_refs:
                        lo, hi = quadrant.get_divider_range(dim.id)
                        quadrant._divider_ranges[dim.id] = [mapper(lo, xid), mapper(hi, xid)]
            else:
                dim.min = mapper(dim.min, xid)
                dim.max = mapper(dim.max, xid)
            dim.transformation_ref = new_ref(xid)


def _inverse(strategy: fk.GatingStrategy, value: float | None, xid: str) -> float | None:
    if value is None:
        return None
    return float(strategy.transformations[xid].inverse(np.array([[float(value)]]))[0, 0])


def use_asinh(strategy: fk.GatingStrategy, asinh: Mapping[str, float]) -> fk.GatingStrategy:
    """Re-express a strategy authored on a logicle scale on an asinh scale.

    Each bound of a rectangle or quadrant gate on a logicle dimension is mapped
    through the inverse logicle (to compensated linear units) and then through the
    asinh transform. Both are strictly increasing, so the gates keep the same
    events. A polygon on a transformed dimension cannot be mapped exactly and is
    refused. The strategy is changed in place and returned.
    """
    new = fk.transforms.AsinhTransform(
        param_t=float(asinh["t"]), param_m=float(asinh["m"]), param_a=float(asinh["a"])
    )
    logicle_ids = {
        xid for xid, x in strategy.transformations.items()
        if isinstance(x, fk.transforms.LogicleTransform)
    }

    def mapper(value: float | None, xid: str) -> float | None:
        linear = _inverse(strategy, value, xid)
        return None if linear is None else float(new.apply(np.array([[linear]]))[0, 0])

    _remap_bounds(strategy, logicle_ids, mapper, lambda xid: f"{xid}_asinh", "on an asinh scale")
    for xid in logicle_ids:
        strategy.add_transform(f"{xid}_asinh", new)
    return strategy


def use_linear_bounds(strategy: fk.GatingStrategy) -> fk.GatingStrategy:
    """Gate rectangle and quadrant gates in compensated linear units.

    Their bounds are mapped once through the inverse of their (strictly
    increasing) transform, so no event needs transforming and the gates keep the
    same events; the transform then serves only for display. This removes the
    dominant cost of FlowKit gating (the per-event logicle). Changed in place.
    """
    ids = set(strategy.transformations)
    _remap_bounds(strategy, ids, lambda v, xid: _inverse(strategy, v, xid), lambda xid: None,
                  "in linear units")
    return strategy


def load_gatingml(path: str | os.PathLike[str], transform: str,
                  asinh: Mapping[str, float] | None = None,
                  linear_bounds: bool = False) -> fk.GatingStrategy:
    """Read a GatingML 2.0 file; ``transform`` is ``logicle`` (as authored) or
    ``asinh``; with ``linear_bounds`` the gates are evaluated in linear units
    (same events, see :func:`use_linear_bounds`)."""
    try:
        strategy = fk.parse_gating_xml(str(path))
    except Exception as exc:  # lxml / FlowKit raise many types
        raise InputError(str(path), f"not a readable GatingML 2.0 file: {exc}") from exc
    if transform == "asinh":
        if asinh is None:
            raise ValueError("transform asinh needs its parameters (cytometry.asinh)")
        strategy = use_asinh(strategy, asinh)
    elif transform != "logicle":
        raise ValueError(f"unknown transform {transform!r} (logicle or asinh)")
    if linear_bounds:
        strategy = use_linear_bounds(strategy)
    return strategy


def read_workspace(path: str | os.PathLike[str]) -> fk.Workspace:
    """A FlowJo 10 workspace, gates only (the FCS files are read separately)."""
    import warnings

    try:
        with warnings.catch_warnings():  # "sample was not loaded": only the gates are wanted
            warnings.simplefilter("ignore", UserWarning)
            return fk.Workspace(str(path), load_missing_file_data=True)
    except Exception as exc:
        raise InputError(str(path), f"not a readable FlowJo workspace: {exc}") from exc


def load_flowjo(path: str | os.PathLike[str], fcs_path: str | os.PathLike[str],
                workspace: fk.Workspace | None = None) -> fk.GatingStrategy:
    """The gating strategy a FlowJo 10 workspace holds for one FCS file.

    FlowJo names samples by their FCS file name; the file's own compensation and
    transforms stored in the workspace come with the strategy. Pass ``workspace``
    (read from ``path``) to avoid parsing the workspace again.
    """
    name = Path(fcs_path).name
    if workspace is None:
        workspace = read_workspace(path)
    if name not in workspace.get_sample_ids(loaded_only=False):
        raise InputError(str(path), "workspace has no sample of this FCS file", column="sample", value=name)
    return workspace.get_gating_strategy(name)


def _spillover(text: Mapping[str, str]) -> str | None:
    for key in ("spillover", "spill"):
        if key in text:
            return text[key]
    return None


def check_spillover(path: str, pnn: list[str], spill: str) -> None:
    """A ``$SPILLOVER`` value must name known detectors and hold an n x n matrix."""
    parts = [p.strip() for p in spill.split(",")]
    try:
        n = int(float(parts[0]))
    except ValueError as exc:
        raise InputError(path, "spillover count is not a number", column="$SPILLOVER", value=parts[0]) from exc
    if n <= 0 or len(parts) != 1 + n + n * n:
        raise InputError(
            path, f"spillover holds {len(parts) - 1} values, expected {n} names and {n * n} coefficients",
            column="$SPILLOVER", value=n,
        )
    for name in parts[1 : 1 + n]:
        if name not in pnn:
            raise InputError(path, "spillover names a detector that is not a channel ($PnN)",
                             column="$SPILLOVER", value=name)
    try:
        matrix = np.array([float(v) for v in parts[1 + n :]]).reshape(n, n)
    except ValueError as exc:
        raise InputError(path, "spillover coefficient is not a number", column="$SPILLOVER") from exc
    if not np.all(np.isfinite(matrix)) or abs(np.linalg.det(matrix)) < 1e-12:
        raise InputError(path, "spillover matrix is not invertible", column="$SPILLOVER")


def read_sample(path: str | os.PathLike[str], needed: Mapping[str, bool],
                sample_id: str | None = None, needs_fcs_spillover: bool = True) -> fk.Sample:
    """Load and check one FCS file for a strategy needing ``needed`` channels
    (channel -> compensated). ``needs_fcs_spillover``: the gates compensate with
    the file's own ``$SPILLOVER`` (GatingML "FCS"), which must then be valid."""
    path = str(path)
    if not os.path.isfile(path):
        raise InputError(path, "FCS file not found")
    size = os.path.getsize(path)
    if size < 58:
        raise InputError(path, f"FCS file truncated: {size} bytes, shorter than an FCS header")
    with open(path, "rb") as handle:
        magic = handle.read(6)
    if not magic.startswith(b"FCS"):
        raise InputError(path, "FCS header corrupt: file does not start with 'FCS'", column="HEADER",
                         value=magic.decode("latin-1"))
    try:
        sample = fk.Sample(path, sample_id=sample_id, subsample=0)
    except Exception as exc:  # flowio raises several exception types
        raise InputError(path, f"FCS file unreadable (truncated or corrupt): {exc}") from exc
    if sample.event_count == 0:
        raise InputError(path, "FCS file holds zero events", column="$TOT", value=0)
    pnn = list(sample.pnn_labels)
    pns = list(sample.pns_labels)
    for channel in needed:
        hits = [i for i, lab in enumerate(pnn) if lab == channel] or [
            i for i, lab in enumerate(pns) if lab == channel
        ]
        if not hits:
            raise InputError(path, "channel needed by the gates is missing ($PnN/$PnS)", column=channel)
        if len(hits) > 1:
            raise InputError(path, "channel label is ambiguous: it names several channels", column=channel)
        idx = hits[0]
        values = sample.get_events(source="raw")[:, idx]
        if not np.all(np.isfinite(values)):
            raise InputError(path, "channel holds non-finite values", column=channel)
    if any(needed.values()) and needs_fcs_spillover:
        spill = _spillover(sample.get_metadata())
        if spill is None:
            raise InputError(path, "gates need compensation but the file has no spillover matrix",
                             column="$SPILLOVER")
        check_spillover(path, pnn, spill)
    return sample


def _population_rows(results: Any, sample_id: str) -> pd.DataFrame:
    report = results.report
    rows = []
    for rec in report.itertuples(index=False):
        gate_path = tuple(p for p in rec.gate_path if p != "root")
        parent = gate_path[-1] if gate_path else ""
        count = int(rec.count)
        rows.append(
            {
                "sample_id": sample_id,
                "population": str(rec.gate_name),
                "gate_path": "/".join((*gate_path, str(rec.gate_name))),
                "parent": parent,
                "count": count,
                "percent_of_parent": float(rec.relative_percent),
            }
        )
    frame = pd.DataFrame(rows, columns=POPULATION_COLUMNS)
    frame["depth"] = frame["gate_path"].str.count("/")
    frame = frame.sort_values(["depth", "gate_path"], kind="stable").drop(columns="depth")
    return frame.reset_index(drop=True)


def gate_file(
    path: str | os.PathLike[str],
    sample_id: str,
    strategy: fk.GatingStrategy | None = None,
    flowjo_workspace: str | os.PathLike[str] | None = None,
    workspace: fk.Workspace | None = None,
) -> tuple[pd.DataFrame, fk.Sample]:
    """Gate one FCS file; return the population table and the loaded sample.

    Give either a GatingML ``strategy`` or a FlowJo ``flowjo_workspace`` (its path,
    and optionally the already parsed ``workspace``).
    """
    if flowjo_workspace is not None:
        strategy = load_flowjo(flowjo_workspace, path, workspace)
    if strategy is None:
        raise ValueError("gate_file needs a strategy or a FlowJo workspace")
    uses_fcs = any(getattr(d, "compensation_ref", None) == "FCS"
                   for g in iter_gates(strategy) for d in getattr(g, "dimensions", []))
    sample = read_sample(path, required_channels(strategy), sample_id=sample_id,
                         needs_fcs_spillover=uses_fcs)
    results = gate_results(sample, strategy)
    return _population_rows(results, sample_id), sample


def gate_results(sample: fk.Sample, strategy: fk.GatingStrategy) -> Any:
    """FlowKit GatingResults of one sample (each channel transformed once)."""
    try:
        return strategy.gate_sample(sample, cache_events=True)
    finally:
        strategy.clear_cache()


def memberships(results: Any, strategy: fk.GatingStrategy) -> dict[str, np.ndarray]:
    """Gate path string (``Time/Margin/...``) -> boolean membership of every event."""
    out = {}
    for name, path in strategy.get_gate_ids():
        try:
            gate = strategy.get_gate(name, path)
        except QuadrantReferenceError:
            continue  # handled with its quadrant gate
        prefix = [p for p in path if p != "root"]
        names = list(gate.quadrants) if isinstance(gate, fk.gates.QuadrantGate) else [name]
        for n in names:
            member = results.get_gate_membership(n, gate_path=path)
            out["/".join([*prefix, n])] = np.asarray(member, dtype=bool)
    return out


def display_values(sample: fk.Sample, strategy: fk.GatingStrategy,
                   channels: Iterable[tuple[str, str | None]]) -> tuple[dict, dict]:
    """Values to plot for each (channel, transform id): compensated when the
    channel is a spillover detector, then transformed. Also axis limits."""
    from aiha.cytometry.reference import compensate, parse_spillover

    raw = sample.get_events(source="raw")
    pnn, pns = list(sample.pnn_labels), list(sample.pns_labels)
    spill = _spillover(sample.get_metadata())
    comp = compensate(raw, pnn, spill) if spill else raw
    detectors = set(parse_spillover(spill)[0]) if spill else set()
    values, limits = {}, {}
    for channel, xid in set(channels):
        idx = pnn.index(channel) if channel in pnn else pns.index(channel)
        column = (comp if pnn[idx] in detectors else raw)[:, idx]
        if xid is not None:
            column = strategy.transformations[xid].apply(column.reshape(-1, 1))[:, 0]
            lo = float(min(0.0, np.percentile(column, 0.5)))
            limits[(channel, xid)] = (lo, 1.0)
        else:
            limits[(channel, xid)] = (0.0, float(max(np.max(column), 1.0)) * 1.02 if channel == "Time"
                                      else 262144.0)
        values[(channel, xid)] = column
    return values, limits


def qc_row(populations: pd.DataFrame, sample_id: str, events_acquired: int,
           kept_population: str, min_events_kept: int, min_percent_kept: float) -> dict[str, Any]:
    """QC of one sample: events acquired, kept after the time and margin gates, flag."""
    hit = populations[populations["population"] == kept_population]
    if len(hit) != 1:
        raise ValueError(f"QC population {kept_population!r} found {len(hit)} times in the gates")
    kept = int(hit["count"].iloc[0])
    percent = 100.0 * kept / events_acquired if events_acquired else 0.0
    flags = []
    if kept < min_events_kept:
        flags.append("low_events_kept")
    if percent < min_percent_kept:
        flags.append("low_percent_kept")
    return {
        "sample_id": sample_id,
        "events_acquired": int(events_acquired),
        "events_kept": kept,
        "percent_kept": percent,
        "qc_flag": ";".join(flags),
    }


def gate_samples(samples: Sequence[tuple[str, str, str]],
                 settings: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Gate several FCS files in one process: the population and QC tables of all.

    ``samples`` holds (sample_id, FCS path, gating file) triples; the gating file is
    a GatingML file or a FlowJo workspace as ``settings["gating_source"]`` says.
    ``settings`` is config ``cytometry`` (gating_source, transform, asinh,
    gate_in_linear_units, qc). Each gating file is parsed once, however many files
    use it; a bad file stops the batch with an :class:`InputError` naming it.
    """
    qc = settings["qc"]
    strategies: dict[str, Any] = {}
    populations, qc_rows = [], []
    for sample_id, fcs_path, gating_path in samples:
        if gating_path not in strategies:
            strategies[gating_path] = (
                read_workspace(gating_path) if settings["gating_source"] == "flowjo"
                else load_gatingml(gating_path, settings["transform"], settings["asinh"],
                                   settings["gate_in_linear_units"]))
        if settings["gating_source"] == "flowjo":
            table, sample = gate_file(fcs_path, sample_id, flowjo_workspace=gating_path,
                                      workspace=strategies[gating_path])
        else:
            table, sample = gate_file(fcs_path, sample_id, strategies[gating_path])
        populations.append(table)
        qc_rows.append(qc_row(table, sample_id, sample.event_count, qc["kept_population"],
                              int(qc["min_events_kept"]), float(qc["min_percent_kept"])))
    if not samples:
        return pd.DataFrame(columns=POPULATION_COLUMNS), pd.DataFrame(columns=QC_COLUMNS)
    return (pd.concat(populations, ignore_index=True),
            pd.DataFrame(qc_rows, columns=QC_COLUMNS))
