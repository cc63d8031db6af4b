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
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import flowkit as fk
from flowkit.exceptions import QuadrantReferenceError

from aiha.cytometry.sample_qc import (
    MISSING_SPILLOVER, QC_COLUMNS, check_datatype, check_spillover, fcs_spillover,
    find_population_row, qc_row,
)
from aiha.errors import InputError

POPULATION_COLUMNS = ["sample_id", "population", "gate_path", "parent", "count", "percent_of_parent"]


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


RECTANGULAR = (fk.gates.RectangleGate, fk.gates.QuadrantGate)


def _invertible(xform: Any) -> bool:
    return hasattr(xform, "inverse") and not isinstance(xform, fk.transforms.RatioTransform)


def _remap_bounds(strategy: fk.GatingStrategy, source_ids: set[str], mapper: Any,
                  new_ref: Any) -> list[str]:
    """Map every rectangle/quadrant bound on a dimension whose transform is in
    ``source_ids`` through ``mapper(value, transform_id)`` and point the dimension
    at ``new_ref(transform_id)``.

    Only bounds of rectangles and quadrants (each one value on one axis) keep the
    same events when mapped through a strictly increasing function. A polygon or
    ellipse is a shape in the plane of its authored scale, so it stays on that
    scale (its transform is kept): FlowKit then evaluates it exactly as authored.
    Returns the names of the gates left on their authored scale."""
    kept: list[str] = []
    for gate in iter_gates(strategy):
        dims = [d for d in getattr(gate, "dimensions", [])
                if getattr(d, "transformation_ref", None) in source_ids]
        if not dims:
            continue
        if not isinstance(gate, RECTANGULAR):
            kept.append(str(gate.gate_name))
            continue
        for dim in dims:
            xid = dim.transformation_ref
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
    return kept


def _inverse(strategy: fk.GatingStrategy, value: float | None, xid: str) -> float | None:
    if value is None:
        return None
    return float(strategy.transformations[xid].inverse(np.array([[float(value)]]))[0, 0])


def use_asinh(strategy: fk.GatingStrategy, asinh: Mapping[str, float]) -> list[str]:
    """Re-express a strategy authored on a logicle scale on an asinh scale.

    Each bound of a rectangle or quadrant gate on a logicle dimension is mapped
    through the inverse logicle (to compensated linear units) and then through the
    asinh transform. Both are strictly increasing, so the gates keep the same
    events. A polygon or ellipse cannot be re-expressed exactly on another scale:
    it stays on its authored logicle scale, so it too keeps FlowKit's events. The
    strategy is changed in place; returns the gates left on their authored scale.
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

    kept = _remap_bounds(strategy, logicle_ids, mapper, lambda xid: f"{xid}_asinh")
    for xid in logicle_ids:
        strategy.add_transform(f"{xid}_asinh", new)
    return kept


def use_linear_bounds(strategy: fk.GatingStrategy) -> list[str]:
    """Gate rectangle and quadrant gates in compensated linear units.

    Their bounds are mapped once through the inverse of their (strictly
    increasing) transform, so no event needs transforming and the gates keep the
    same events; the transform then serves only for display. This removes the
    dominant cost of FlowKit gating (the per-event logicle). Polygons and ellipses
    stay on their authored scale (FlowKit transforms their events). Changed in
    place; returns the gates left on their authored scale.
    """
    ids = {xid for xid, x in strategy.transformations.items() if _invertible(x)}
    return _remap_bounds(strategy, ids, lambda v, xid: _inverse(strategy, v, xid), lambda xid: None)


def load_gatingml(path: str | os.PathLike[str], transform: str,
                  asinh: Mapping[str, float] | None = None,
                  linear_bounds: bool = False) -> fk.GatingStrategy:
    """Read a GatingML 2.0 file; ``transform`` is ``logicle`` (as authored) or
    ``asinh``; with ``linear_bounds`` rectangle and quadrant gates are evaluated in
    linear units (same events, see :func:`use_linear_bounds`). Polygons and
    ellipses are always evaluated on their authored scale (logged)."""
    try:
        strategy = fk.parse_gating_xml(str(path))
    except Exception as exc:  # lxml / FlowKit raise many types
        raise InputError(str(path), f"not a readable GatingML 2.0 file: {exc}") from exc
    kept: list[str] = []
    if transform == "asinh":
        if asinh is None:
            raise ValueError("transform asinh needs its parameters (cytometry.asinh)")
        kept += use_asinh(strategy, asinh)
    elif transform != "logicle":
        raise ValueError(f"unknown transform {transform!r} (logicle or asinh)")
    if linear_bounds:
        kept += use_linear_bounds(strategy)
    if kept:
        print(f"{path}: gates evaluated on their authored scale (polygon/ellipse): "
              f"{', '.join(sorted(set(kept)))}", file=sys.stderr)
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
                workspace: fk.Workspace | None = None,
                sample_name: str | None = None) -> fk.GatingStrategy:
    """The gating strategy a FlowJo 10 workspace holds for one FCS file.

    The workspace sample is ``sample_name`` (the sample sheet's optional
    ``workspace_sample`` column) or, by default, the FCS file name, as FlowJo names
    samples. The file's own compensation and transforms stored in the workspace
    come with the strategy. Pass ``workspace`` (read from ``path``) to avoid
    parsing the workspace again. A sample without any gate is an error: its
    populations could only be missing.
    """
    name = sample_name or Path(fcs_path).name
    if workspace is None:
        workspace = read_workspace(path)
    if name not in workspace.get_sample_ids(loaded_only=False):
        how = "the sample sheet's workspace_sample" if sample_name else "the FCS file name"
        raise InputError(str(path), f"workspace has no sample named by {how} (FCS file {fcs_path})",
                         column="sample", value=name)
    try:
        strategy = workspace.get_gating_strategy(name)
    except Exception as exc:  # FlowKit raises several types for odd workspaces
        raise InputError(str(path), f"gates of the workspace sample cannot be read: {exc}",
                         column="sample", value=name) from exc
    if not strategy.get_gate_ids():
        raise InputError(str(path), f"workspace sample has no gates (FCS file {fcs_path})",
                         column="sample", value=name)
    return strategy


def _read_fcs(path: str, sample_id: str | None, ignore_offset_error: bool) -> fk.Sample:
    """Parse an FCS file (flowio), check ``$TOT`` against the DATA segment, and
    wrap it in a FlowKit Sample."""
    import warnings

    import flowio

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = flowio.FlowData(path, ignore_offset_error=ignore_offset_error)
    except Exception as exc:  # flowio raises several exception types
        hint = ""
        if "off by 1" in str(exc):
            hint = " (the file's DATA offset is off by one byte; set cytometry.fcs_ignore_offset_error: true to read it)"
        raise InputError(path, f"FCS file unreadable (truncated or corrupt): {exc}{hint}") from exc
    for warning in caught:
        if "incorrect data offset" in str(warning.message):
            print(f"{path}: DATA offset off by one byte, read with the last byte dropped "
                  "(cytometry.fcs_ignore_offset_error: true)", file=sys.stderr)
    try:
        tot = int(data.text["tot"])
    except (KeyError, ValueError) as exc:
        raise InputError(path, "FCS header lacks a readable event count", column="$TOT",
                         value=data.text.get("tot")) from exc
    values = len(data.events) if data.events is not None else 0
    stored = values // data.channel_count if data.channel_count else 0
    if tot == 0:
        raise InputError(path, f"FCS file holds zero events ($TOT 0; the DATA segment holds "
                         f"{values / max(data.channel_count, 1):g})", column="$TOT", value=0)
    if tot * data.channel_count != values:
        raise InputError(path, f"$TOT says {tot} events but the DATA segment holds "
                         f"{values / max(data.channel_count, 1):g} events of {data.channel_count} channels",
                         column="$TOT", value=tot)
    if stored == 0:
        raise InputError(path, "FCS file holds zero events", column="$TOT", value=0)
    check_datatype(path, data)
    try:
        return fk.Sample(data, sample_id=sample_id, subsample=0)
    except Exception as exc:
        raise InputError(path, f"FCS file unreadable: {exc}") from exc


def apply_panel(sample: fk.Sample, panel: Mapping[str, str] | None, path: str) -> list[str]:
    """Rename a lab's channel labels to the names the gates use.

    ``panel`` maps a label of the file (its ``$PnS`` marker label such as
    ``CD38 PE-Cy7``, or its ``$PnN`` detector name such as ``PE-Cy7-A``) to the name
    the gating strategy uses (``CD38``). The channel keeps its ``$PnN`` (the
    spillover matrix names detectors by it); its marker label becomes the gating
    name, which FlowKit finds. A label naming no channel is skipped (panels differ
    between files; a channel the gates need and cannot find is an error later). A
    label naming two channels is an error. Returns what was renamed, for the log.
    """
    done = []
    for label, name in (panel or {}).items():
        hits = [i for i, lab in enumerate(sample.pnn_labels) if lab == label] or [
            i for i, lab in enumerate(sample.pns_labels) if lab == label]
        if not hits:
            continue
        if len(hits) > 1:
            raise InputError(path, "panel label (cytometry.panel) names several channels",
                             column=label)
        idx = hits[0]
        if sample.pnn_labels[idx] == name or sample.pns_labels[idx] == name:
            continue
        sample.pns_labels[idx] = str(name)
        done.append(f"{label} -> {name}")
    sample.channels["pns"] = sample.pns_labels
    return done


def read_sample(path: str | os.PathLike[str], needed: Mapping[str, bool],
                sample_id: str | None = None, needs_fcs_spillover: bool = True,
                panel: Mapping[str, str] | None = None, missing_spillover: str = "refuse",
                ignore_offset_error: bool = False) -> fk.Sample:
    """Load and check one FCS file for a strategy needing ``needed`` channels
    (channel -> compensated).

    ``panel``: the lab's labels -> gating names (:func:`apply_panel`).
    ``needs_fcs_spillover``: the gates compensate with the file's own
    ``$SPILLOVER`` (GatingML "FCS"), which must then be valid; a file without one
    is refused (``missing_spillover="refuse"``) or gated uncompensated, as the
    GatingML 2.0 specification and FlowKit do (``"uncompensated"``, logged).
    ``ignore_offset_error``: read a file whose DATA end offset is off by one byte
    (as some instruments write), dropping that byte (logged).
    """
    path = str(path)
    if missing_spillover not in MISSING_SPILLOVER:
        raise ValueError(f"missing_spillover must be one of {MISSING_SPILLOVER}")
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
    sample = _read_fcs(path, sample_id, ignore_offset_error)
    renamed = apply_panel(sample, panel, path)
    if renamed:
        print(f"{path}: panel mapping {'; '.join(renamed)}", file=sys.stderr)
    pnn = list(sample.pnn_labels)
    pns = list(sample.pns_labels)
    flowjo_pnn = [lab.replace("/", "_") for lab in pnn]
    for channel in needed:
        hits = [i for i, lab in enumerate(pnn) if lab == channel] or [
            i for i, lab in enumerate(pns) if lab == channel] or [
            i for i, lab in enumerate(flowjo_pnn) if lab == channel]
        if not hits:
            raise InputError(path, "channel needed by the gates is missing ($PnN/$PnS; map the lab's "
                             "label to it in cytometry.panel)", column=channel)
        if len(hits) > 1:
            raise InputError(path, "channel label is ambiguous: it names several channels", column=channel)
        idx = hits[0]
        values = sample.get_events(source="raw")[:, idx]
        if not np.all(np.isfinite(values)):
            raise InputError(path, "channel holds non-finite values", column=channel)
    if any(needed.values()) and needs_fcs_spillover:
        spill = fcs_spillover(sample.get_metadata())
        if spill is None:
            if missing_spillover == "refuse":
                raise InputError(path, "gates need compensation but the file has no spillover matrix "
                                 "($SPILLOVER/$SPILL); set cytometry.missing_spillover: uncompensated "
                                 "to gate it uncompensated", column="$SPILLOVER")
            print(f"{path}: no spillover matrix; gated uncompensated "
                  "(cytometry.missing_spillover: uncompensated)", file=sys.stderr)
        else:
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
    workspace_sample: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, fk.Sample]:
    """Gate one FCS file; return the population table and the loaded sample.

    Give either a GatingML ``strategy`` or a FlowJo ``flowjo_workspace`` (its path,
    and optionally the already parsed ``workspace`` and the sample's name in it).
    ``options``: the reading options of :func:`read_sample` (``panel``,
    ``missing_spillover``, ``ignore_offset_error``).
    """
    if flowjo_workspace is not None:
        strategy = load_flowjo(flowjo_workspace, path, workspace, workspace_sample)
    if strategy is None:
        raise ValueError("gate_file needs a strategy or a FlowJo workspace")
    uses_fcs = any(getattr(d, "compensation_ref", None) == "FCS"
                   for g in iter_gates(strategy) for d in getattr(g, "dimensions", []))
    sample = read_sample(path, required_channels(strategy), sample_id=sample_id,
                         needs_fcs_spillover=uses_fcs, **dict(options or {}))
    try:
        results = gate_results(sample, strategy)
    except (LookupError, ValueError) as exc:  # a channel FlowKit cannot resolve
        raise InputError(str(path), f"gating failed: {exc}") from exc
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


def _channel_index(sample: fk.Sample, strategy: fk.GatingStrategy, channel: str,
                   comp_ref: str | None) -> int:
    """Index of a gate dimension's channel, resolved as FlowKit does: PnN, PnS,
    FlowJo's PnN (``/`` -> ``_``), or a matrix fluorochrome -> its detector."""
    pnn, pns = list(sample.pnn_labels), list(sample.pns_labels)
    for labels in (pnn, pns, [lab.replace("/", "_") for lab in pnn]):
        if channel in labels:
            return labels.index(channel)
    matrix = strategy.comp_matrices.get(comp_ref) if comp_ref else None
    if matrix is not None and channel in matrix.fluorochromes:
        return pnn.index(matrix.detectors[matrix.fluorochromes.index(channel)])
    raise LookupError(f"channel {channel!r} not found")


def _compensated(sample: fk.Sample, strategy: fk.GatingStrategy, comp_ref: str | None) -> np.ndarray:
    raw = sample.get_events(source="raw")
    if comp_ref in (None, "uncompensated"):
        return raw
    if comp_ref == "FCS":
        from aiha.cytometry.reference import compensate

        spill = fcs_spillover(sample.get_metadata())
        return compensate(raw, list(sample.pnn_labels), spill) if spill else raw
    return strategy.comp_matrices[comp_ref].apply(sample)


def display_values(sample: fk.Sample, strategy: fk.GatingStrategy,
                   channels: Iterable[tuple[str, str | None] | tuple[str, str | None, str | None]]
                   ) -> tuple[dict, dict]:
    """Values to plot for each (channel, transform id[, compensation ref]):
    compensated as the gate says (the file's own spillover for "FCS", a named
    matrix of the strategy, e.g. a FlowJo workspace's), then transformed. Also
    axis limits. Keys are (channel, transform id)."""
    values, limits = {}, {}
    comp_cache: dict[Any, np.ndarray] = {}
    pnr = {}
    meta = sample.get_metadata()
    for i in range(len(sample.pnn_labels)):
        try:
            pnr[i] = float(meta.get(f"p{i + 1}r", 262144))
        except ValueError:
            pnr[i] = 262144.0
    for entry in set(channels):
        channel, xid = entry[0], entry[1]
        comp_ref = entry[2] if len(entry) > 2 else "FCS"
        if comp_ref not in comp_cache:
            comp_cache[comp_ref] = _compensated(sample, strategy, comp_ref)
        idx = _channel_index(sample, strategy, channel, comp_ref)
        column = comp_cache[comp_ref][:, idx]
        if xid is not None:
            column = strategy.transformations[xid].apply(column.reshape(-1, 1))[:, 0]
            finite = column[np.isfinite(column)]
            lo = float(min(0.0, np.percentile(finite, 0.5))) if len(finite) else 0.0
            hi = float(max(1.0, np.percentile(finite, 99.9))) if len(finite) else 1.0
            limits[(channel, xid)] = (lo, hi)
        else:
            top = float(np.max(column)) * 1.02 if len(column) else 1.0
            limits[(channel, xid)] = (0.0, max(top, 1.0) if channel == "Time" else max(pnr[idx], 1.0))
        values[(channel, xid)] = column
    return values, limits


def _as_job(entry: Any) -> dict[str, Any]:
    if isinstance(entry, Mapping):
        return dict(entry)
    sample_id, fcs, gating_file, *rest = entry
    return {"sample_id": sample_id, "fcs": fcs, "gating": gating_file,
            "tube": rest[0] if rest else None, "workspace_sample": rest[1] if len(rest) > 1 else None}


def read_options(settings: Mapping[str, Any], tube: str | None) -> dict[str, Any]:
    """The FCS reading options of config ``cytometry`` for a tube's files."""
    panel = (settings.get("panel") or {}).get(tube) or {} if tube else {}
    return {"panel": panel, "missing_spillover": settings.get("missing_spillover", "refuse"),
            "ignore_offset_error": bool(settings.get("fcs_ignore_offset_error", False))}


def gate_samples(samples: Sequence[Any],
                 settings: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Gate several FCS files in one process: the population and QC tables of all.

    ``samples`` holds one dict per file: ``sample_id``, ``fcs`` (path), ``gating``
    (a GatingML file or a FlowJo workspace as ``settings["gating_source"]`` says),
    ``tube`` and ``workspace_sample`` (the name in the workspace, default the file
    name); a (sample_id, fcs, gating[, tube[, workspace_sample]]) tuple also works.
    ``settings`` is config ``cytometry`` (gating_source, transform, asinh,
    gate_in_linear_units, qc, and optionally panel, missing_spillover,
    fcs_ignore_offset_error, and ``tube_populations``: tube -> {role: population}
    that every sample of that tube must hold exactly once). Each gating file is
    parsed once, however many files use it; a bad file stops the batch with an
    :class:`InputError` naming it.
    """
    qc = settings["qc"]
    flowjo = settings["gating_source"] == "flowjo"
    wanted = settings.get("tube_populations") or {}
    strategies: dict[str, Any] = {}
    populations, qc_rows = [], []
    for job in map(_as_job, samples):
        sample_id, fcs_path, gating_path = job["sample_id"], str(job["fcs"]), str(job["gating"])
        if gating_path not in strategies:
            strategies[gating_path] = (
                read_workspace(gating_path) if flowjo
                else load_gatingml(gating_path, settings["transform"], settings["asinh"],
                                   settings["gate_in_linear_units"]))
        options = read_options(settings, job.get("tube"))
        if flowjo:
            table, sample = gate_file(fcs_path, sample_id, flowjo_workspace=gating_path,
                                      workspace=strategies[gating_path],
                                      workspace_sample=job.get("workspace_sample") or None,
                                      options=options)
        else:
            table, sample = gate_file(fcs_path, sample_id, strategies[gating_path], options=options)
        for role, spec in (wanted.get(job.get("tube")) or {}).items():
            find_population_row(table, spec, sample_id, fcs_path, gating_path,
                                f"claim population {role} (cytometry.populations)")
        populations.append(table)
        qc_rows.append(qc_row(table, sample_id, sample.event_count, qc["kept_population"],
                              int(qc["min_events_kept"]), float(qc["min_percent_kept"]),
                              fcs_path, gating_path))
    if not samples:
        return pd.DataFrame(columns=POPULATION_COLUMNS), pd.DataFrame(columns=QC_COLUMNS)
    return (pd.concat(populations, ignore_index=True),
            pd.DataFrame(qc_rows, columns=QC_COLUMNS))
