"""An independent plain-numpy evaluation of a gating strategy.

Used as a cross-check of the FlowKit path (tests) and as the speed reference of
the benchmark. It reads the gate geometry from the same FlowKit ``GatingStrategy``
but evaluates it without FlowKit: events are compensated with a matrix product,
and the bounds of rectangle and quadrant gates on transformed dimensions are
mapped back to linear units once (the transforms are strictly increasing), so no
event is transformed at all. Polygons are tested with an even-odd crossing rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def read_fcs_array(path: str) -> tuple[np.ndarray, list[str], list[str], dict[str, str]]:
    """Events (float64, $TIMESTEP applied to Time), PnN, PnS and TEXT keywords."""
    import flowio

    fd = flowio.FlowData(path)
    n = fd.channel_count
    events = np.frombuffer(fd.events, dtype=np.float32).reshape(-1, n).astype(np.float64)
    pnn = [fd.channels[i]["pnn"] for i in range(1, n + 1)]
    pns = [fd.channels[i].get("pns", "") for i in range(1, n + 1)]
    if "timestep" in fd.text and fd.time_index is not None:
        events[:, fd.time_index] *= float(fd.text["timestep"])
    return events, pnn, pns, dict(fd.text)


def parse_spillover(spill: str) -> tuple[list[str], np.ndarray]:
    parts = [p.strip() for p in spill.split(",")]
    n = int(float(parts[0]))
    names = parts[1 : 1 + n]
    matrix = np.array([float(v) for v in parts[1 + n :]]).reshape(n, n)
    return names, matrix


def compensate(events: np.ndarray, pnn: Sequence[str], spill: str) -> np.ndarray:
    """Copy of ``events`` with the spillover detectors compensated."""
    names, matrix = parse_spillover(spill)
    idx = [list(pnn).index(d) for d in names]
    out = events.copy()
    out[:, idx] = events[:, idx] @ np.linalg.inv(matrix)
    return out


def _in_polygon(x: np.ndarray, y: np.ndarray, vertices: Sequence[Sequence[float]]) -> np.ndarray:
    inside = np.zeros(x.shape[0], dtype=bool)
    v = np.asarray(vertices, dtype=np.float64)
    xj, yj = v[-1]
    for xi, yi in v:
        crosses = (yi > y) != (yj > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = (xj - xi) * (y - yi) / (yj - yi) + xi
        inside ^= crosses & (x < x_cross)
        xj, yj = xi, yi
    return inside


def gate_counts(
    raw: np.ndarray, pnn: Sequence[str], pns: Sequence[str], spill: str | None, strategy: Any
) -> dict[str, int]:
    """Count of every population, keyed by gate path ``Time/Margin/.../name``."""
    import flowkit as fk
    from flowkit.exceptions import QuadrantReferenceError

    comp = compensate(raw, pnn, spill) if spill else raw

    def column(channel: str, compensated: bool) -> np.ndarray:
        idx = list(pnn).index(channel) if channel in pnn else list(pns).index(channel)
        return (comp if compensated else raw)[:, idx]

    def linear(value: float | None, xid: str | None) -> float | None:
        if value is None or xid is None:
            return value
        return float(strategy.transformations[xid].inverse(np.array([[float(value)]]))[0, 0])

    def bounds_mask(values: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
        mask = np.ones(values.shape[0], dtype=bool)
        if lo is not None:
            mask &= values >= lo
        if hi is not None:
            mask &= values < hi
        return mask

    masks: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    for name, path in strategy.get_gate_ids():
        try:
            gate = strategy.get_gate(name, path)
        except QuadrantReferenceError:
            continue
        parent_key = "/".join(p for p in path if p != "root")
        parent = masks.get(parent_key) if parent_key else None
        key = "/".join([*(p for p in path if p != "root"), name])
        if isinstance(gate, fk.gates.QuadrantGate):
            divs = {d.id: d for d in gate.dimensions}
            for q_id, quadrant in gate.quadrants.items():
                mask = np.ones(raw.shape[0], dtype=bool)
                for div_ref in quadrant.divider_refs:
                    d = divs[div_ref]
                    lo, hi = quadrant.get_divider_range(div_ref)
                    comped = d.compensation_ref not in (None, "uncompensated")
                    values = column(d.dimension_ref, comped)
                    mask &= bounds_mask(values, linear(lo, d.transformation_ref),
                                        linear(hi, d.transformation_ref))
                if parent is not None:
                    mask &= parent
                q_key = "/".join([*(p for p in path if p != "root"), q_id])
                masks[q_key] = mask
                counts[q_key] = int(mask.sum())
            continue
        if isinstance(gate, fk.gates.RectangleGate):
            mask = np.ones(raw.shape[0], dtype=bool)
            for d in gate.dimensions:
                comped = d.compensation_ref not in (None, "uncompensated")
                values = column(d.id, comped)
                mask &= bounds_mask(values, linear(d.min, d.transformation_ref),
                                    linear(d.max, d.transformation_ref))
        elif isinstance(gate, fk.gates.PolygonGate):
            dx, dy = gate.dimensions
            if dx.transformation_ref or dy.transformation_ref:
                raise NotImplementedError("reference: polygon on a transformed dimension")
            x = column(dx.id, dx.compensation_ref not in (None, "uncompensated"))
            y = column(dy.id, dy.compensation_ref not in (None, "uncompensated"))
            mask = _in_polygon(x, y, gate.vertices)
        else:
            raise NotImplementedError(f"reference: gate type {type(gate).__name__}")
        if getattr(gate, "use_complement", False):
            mask = ~mask
        if parent is not None:
            mask &= parent
        masks[key] = mask
        counts[key] = int(mask.sum())
    return counts


def counts_from_table(populations: Mapping[str, Any]) -> dict[str, int]:
    """``gate_path -> count`` of a population table (for comparison)."""
    return {str(p): int(c) for p, c in zip(populations["gate_path"], populations["count"])}
