"""The gating-strategy figure: one sample, one panel per gate on the path to the
populations the analysis reads, at print size.

Each panel draws the events of the gate's parent (density, rasterized) with the
gate on top, titled with the population's human label and its parent; the
frequency of every population in the panel (its events as a percentage of the
parent's) is printed on its gate region. Fluorescence axes carry decade ticks in
data units (:mod:`aiha.cytometry.scales`), axes are labelled by marker and
fluorochrome (:mod:`aiha.cytometry.labels`).

Works for a GatingML strategy and for a FlowJo workspace's strategy alike, and for
any panel: channels, transforms and populations come from the strategy, the FCS
file and config ``cytometry.populations``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aiha.cytometry import labels as L
from aiha.cytometry.scales import apply_ticks, axis_ticks, fmt_bound
from aiha.formatting import fmt_number

FIG_WIDTH_IN = 7.0  # the report's text width (A4, 16 mm margins): figure text prints at its size
PANEL_HEIGHT_IN = 2.35
NCOL = 3
TITLE_PT = 8.0
LABEL_PT = 7.5
TICK_PT = 7.0
GATE_PT = 7.5
SCATTER_Y = ("SSC-A", "SSC-H", "SSC", "SSC-W")


@dataclass(frozen=True)
class Region:
    """One population drawn in a panel: a gate, or one quadrant of a quadrant gate."""

    name: str
    key: str  # gate path without root, as in the population table ("Time/.../CD3pos")
    gate: Any
    quadrant: str | None = None


@dataclass(frozen=True)
class GatePanel:
    """One density plot: the events of ``parent_key`` on ``x`` and ``y``, with the
    regions (gates) drawn on top."""

    parent_key: str
    x: str
    y: str
    x_transform: str | None
    y_transform: str | None
    x_comp: str | None
    y_comp: str | None
    regions: tuple[Region, ...]
    group: str | None = None  # the quadrant gate's name

    def channels(self) -> list[tuple[str, str | None, str | None]]:
        return [(self.x, self.x_transform, self.x_comp), (self.y, self.y_transform, self.y_comp)]


def scatter_channel(labels: Sequence[str]) -> str:
    """The side-scatter channel a one-dimensional gate is drawn against."""
    for name in SCATTER_Y:
        if name in labels:
            return name
    return next((lab for lab in labels if "SSC" in lab.upper()), labels[0])


def _dims(gate: Any) -> list[tuple[str, str | None, str | None]]:
    import flowkit as fk

    out = []
    for d in getattr(gate, "dimensions", []):
        if isinstance(d, fk.RatioDimension):
            continue
        channel = d.dimension_ref if isinstance(d, fk.QuadrantDivider) else d.id
        out.append((str(channel), d.transformation_ref, d.compensation_ref))
    return out


def population_gates(strategy: Any) -> dict[str, Region]:
    """Every population of a strategy by its key (quadrants one by one)."""
    import flowkit as fk
    from flowkit.exceptions import QuadrantReferenceError

    out: dict[str, Region] = {}
    for name, path in strategy.get_gate_ids():
        try:
            gate = strategy.get_gate(name, path)
        except QuadrantReferenceError:
            continue
        prefix = [p for p in path if p != "root"]
        if isinstance(gate, fk.gates.QuadrantGate):
            for q in gate.quadrants:
                out["/".join([*prefix, q])] = Region(q, "/".join([*prefix, q]), gate, q)
        else:
            out["/".join([*prefix, name])] = Region(name, "/".join([*prefix, name]), gate)
    return out


def wanted_keys(strategy: Any, specs: Sequence[str]) -> set[str]:
    """The population keys named by ``specs`` (config population names or paths)
    and all their ancestors."""
    from aiha.cytometry.populations import find_population

    keys = list(population_gates(strategy))
    leaves = [k.split("/")[-1] for k in keys]
    needed: set[str] = set()
    for spec in specs:
        key = find_population(keys, leaves, spec)
        parts = key.split("/")
        needed.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return needed


def gate_panels(strategy: Any, default_y: str = "SSC-A", wanted: set[str] | None = None) -> list[GatePanel]:
    """Panels in hierarchy order. Gates with the same parent and axes share a panel
    (a FlowJo workspace's quadrants are four rectangles); a quadrant gate is one
    panel. A one-dimensional gate is drawn against ``default_y``. With ``wanted``
    (population keys), only panels drawing one of them."""
    import flowkit as fk

    groups: dict[tuple, list[Region]] = {}
    axes: dict[tuple, tuple] = {}
    for key, region in population_gates(strategy).items():
        dims = _dims(region.gate)
        if not dims:
            continue
        if len(dims) == 1:
            other = "FSC-A" if dims[0][0] == default_y else default_y
            dims.append((other, None, None))
        (x, xt, xc), (y, yt, yc) = dims[:2]
        parent = key.rsplit("/", 1)[0] if "/" in key else ""
        quad = region.gate.gate_name if isinstance(region.gate, fk.gates.QuadrantGate) else None
        group = (parent, x, y, xt, yt, quad)
        groups.setdefault(group, []).append(region)
        axes[group] = (x, y, xt, yt, xc, yc)
    panels = []
    for group, regions in groups.items():
        if wanted is not None and not any(r.key in wanted for r in regions):
            continue
        x, y, xt, yt, xc, yc = axes[group]
        panels.append(GatePanel(group[0], x, y, xt, yt, xc, yc, tuple(regions), group[5]))
    return panels


# ------------------------------------------------------------------ geometry
def region_ranges(panel: GatePanel, region: Region) -> dict[str, tuple[float | None, float | None]] | None:
    """Bounds (display units) of a rectangle or quadrant region on the panel's axes,
    ``{"x": (lo, hi), "y": (lo, hi)}`` (``None``: open); ``None`` for other shapes."""
    import flowkit as fk

    gate = region.gate
    if isinstance(gate, fk.gates.QuadrantGate):
        quadrant = gate.quadrants[region.quadrant]
        dividers = {d.id: d for d in gate.dimensions}
        out = {"x": (None, None), "y": (None, None)}
        for ref in quadrant.divider_refs:
            axis = "x" if dividers[ref].dimension_ref == panel.x else "y"
            out[axis] = tuple(quadrant.get_divider_range(ref))
        return out
    if isinstance(gate, fk.gates.RectangleGate):
        bounds = {d.id: (d.min, d.max) for d in gate.dimensions}
        return {"x": bounds.get(panel.x, (None, None)), "y": bounds.get(panel.y, (None, None))}
    return None


def _visible(lo: float | None, hi: float | None, limits: Sequence[float]) -> tuple[float, float, bool, bool]:
    """The visible part of a range on an axis, and whether each end is open."""
    a0, a1 = limits
    lo_open = lo is None or lo <= a0
    hi_open = hi is None or hi >= a1
    return (a0 if lo_open else float(lo)), (a1 if hi_open else float(hi)), lo_open, hi_open


Anchor = tuple[float, float, str, str, float, float]  # x, y, ha, va, dx, dy (points)


def label_candidates(panel: GatePanel, region: Region, xlim: Sequence[float],
                     ylim: Sequence[float]) -> list[Anchor]:
    """Places for a region's frequency label, best first: the inside corners of a
    rectangle or quadrant (its outer corner first); above, below, beside or on a
    polygon or ellipse."""
    import flowkit as fk

    ranges = region_ranges(panel, region)
    pad = 3.0
    if ranges is not None:
        x0, x1, xlo_open, xhi_open = _visible(*ranges["x"], xlim)
        y0, y1, ylo_open, yhi_open = _visible(*ranges["y"], ylim)
        xs = [(x0, "left", pad), (x1, "right", -pad)]
        ys = [(y1, "top", -pad), (y0, "bottom", pad)]
        if xhi_open and not xlo_open:
            xs.reverse()  # the open (outer) side first
        if ylo_open and not yhi_open:
            ys.reverse()
        if not (xlo_open ^ xhi_open):  # closed or open both ways: the middle first
            xs.insert(0, ((x0 + x1) / 2, "center", 0.0))
        return [(x, y, ha, va, dx, dy) for y, va, dy in ys for x, ha, dx in xs]
    gate = region.gate
    if isinstance(gate, fk.gates.PolygonGate):
        v = np.asarray(gate.vertices, dtype=float)
        left, right = float(v[:, 0].min()), float(v[:, 0].max())
        bottom, top = float(v[:, 1].min()), float(v[:, 1].max())
        centre = (float(v[:, 0].mean()), float(v[:, 1].mean()))
    elif isinstance(gate, fk.gates.EllipsoidGate):
        cov = np.asarray(gate.covariance_matrix, dtype=float)
        cx, cy = (float(c) for c in gate.coordinates[:2])
        rx = math.sqrt(max(cov[0, 0], 0.0) * gate.distance_square)
        ry = math.sqrt(max(cov[1, 1], 0.0) * gate.distance_square)
        left, right, bottom, top, centre = cx - rx, cx + rx, cy - ry, cy + ry, (cx, cy)
    else:
        return [((xlim[0] + xlim[1]) / 2, ylim[1], "center", "top", 0.0, -pad)]
    mid_x, mid_y = (left + right) / 2, (bottom + top) / 2
    return [(mid_x, top, "center", "bottom", 0.0, 2.0), (right, mid_y, "left", "center", 2.0, 0.0),
            (mid_x, bottom, "center", "top", 0.0, -2.0), (left, mid_y, "right", "center", -2.0, 0.0),
            (centre[0], centre[1], "center", "center", 0.0, 0.0)]


def text_box(anchor: Anchor, size_pt: tuple[float, float], per_pt: tuple[float, float]
             ) -> tuple[float, float, float, float]:
    """The data box (x0, x1, y0, y1) a label of ``size_pt`` (width, height) covers
    at ``anchor``; ``per_pt``: data units per point on x and y."""
    x, y, ha, va, dx, dy = anchor
    w, h = size_pt[0] * per_pt[0], size_pt[1] * per_pt[1]
    x += dx * per_pt[0]
    y += dy * per_pt[1]
    x0 = {"left": x, "right": x - w, "center": x - w / 2}[ha]
    y0 = {"bottom": y, "top": y - h, "center": y - h / 2}[va]
    return x0, x0 + w, y0, y0 + h


def best_anchor(candidates: Sequence[Anchor], size_pt: tuple[float, float], per_pt: tuple[float, float],
                xlim: Sequence[float], ylim: Sequence[float], x: np.ndarray, y: np.ndarray,
                taken: Sequence[tuple[float, float, float, float]] = (),
                within: tuple[float, float, float, float] | None = None) -> Anchor:
    """The candidate whose label box stays inside the axes, overlaps no label
    already placed, stays inside ``within`` (the region's visible box) if it can,
    and covers the fewest drawn events (the first such on a tie)."""
    best, best_cost = candidates[0], (math.inf, math.inf)
    for anchor in candidates:
        x0, x1, y0, y1 = text_box(anchor, size_pt, per_pt)
        if x0 < xlim[0] or x1 > xlim[1] or y0 < ylim[0] or y1 > ylim[1]:
            continue
        if any(x0 < b[1] and b[0] < x1 and y0 < b[3] and b[2] < y1 for b in taken):
            continue
        outside = within is not None and not (within[0] <= x0 and x1 <= within[1]
                                               and within[2] <= y0 and y1 <= within[3])
        cost = (int(outside), int(np.count_nonzero((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))))
        if cost < best_cost:
            best, best_cost = anchor, cost
    return best


def visible_box(panel: GatePanel, region: Region, xlim: Sequence[float],
                ylim: Sequence[float]) -> tuple[float, float, float, float] | None:
    """The visible part (x0, x1, y0, y1) of a rectangle or quadrant region."""
    ranges = region_ranges(panel, region)
    if ranges is None:
        return None
    x0, x1, _, _ = _visible(*ranges["x"], xlim)
    y0, y1, _, _ = _visible(*ranges["y"], ylim)
    return x0, x1, y0, y1


def region_outline(panel: GatePanel, region: Region, xlim: Sequence[float],
                   ylim: Sequence[float]) -> np.ndarray | None:
    """The region as a closed polygon (n x 2, display units, panel axes): the visible
    box of a rectangle or quadrant, a polygon's vertices, an ellipse sampled at 72
    points; ``None`` for a gate without a 2-D shape."""
    import flowkit as fk

    box = visible_box(panel, region, xlim, ylim)
    if box is not None:
        x0, x1, y0, y1 = box
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)
    gate = region.gate
    if isinstance(gate, fk.gates.PolygonGate):
        return np.asarray(gate.vertices, dtype=float)[:, :2]
    if isinstance(gate, fk.gates.EllipsoidGate) and len(gate.coordinates) == 2:
        vals, vecs = np.linalg.eigh(np.asarray(gate.covariance_matrix, dtype=float))
        radii = np.sqrt(np.maximum(vals, 0) * gate.distance_square)
        t = np.linspace(0, 2 * math.pi, 72, endpoint=False)
        unit = np.stack([radii[0] * np.cos(t), radii[1] * np.sin(t)])
        return (vecs @ unit).T + np.asarray(gate.coordinates, dtype=float)
    return None


def inside(outline: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Which ``points`` (n x 2) lie inside the closed polygon ``outline``."""
    from matplotlib.path import Path as MplPath

    return MplPath(np.asarray(outline, dtype=float)).contains_points(np.asarray(points, dtype=float))


def box_points(box: tuple[float, float, float, float]) -> np.ndarray:
    """Corners, edge midpoints and centre of a box (x0, x1, y0, y1)."""
    x0, x1, y0, y1 = box
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [xm, y0], [xm, y1], [x0, ym], [x1, ym],
                     [xm, ym]], dtype=float)


@dataclass(frozen=True)
class Placement:
    """Where a gate's label goes: the centre of its text box (data units) and, for a
    label that does not fit inside its gate, the point inside the gate its leader
    line points to (``None``: the label sits inside its own gate)."""

    x: float
    y: float
    box: tuple[float, float, float, float]
    leader_to: tuple[float, float] | None = None
    crowded: bool = False  # no free place inside or outside: over the gate's centre


def _box_at(cx: float, cy: float, size_pt: tuple[float, float],
            per_pt: tuple[float, float]) -> tuple[float, float, float, float]:
    w, h = size_pt[0] * per_pt[0], size_pt[1] * per_pt[1]
    return cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2


def _clear(box: tuple[float, float, float, float], others: Sequence[np.ndarray],
           taken: Sequence[tuple[float, float, float, float]], xlim: Sequence[float],
           ylim: Sequence[float]) -> bool:
    """A box inside the axes, touching no other gate and no label already placed."""
    x0, x1, y0, y1 = box
    if x0 < xlim[0] or x1 > xlim[1] or y0 < ylim[0] or y1 > ylim[1]:
        return False
    if any(x0 < b[1] and b[0] < x1 and y0 < b[3] and b[2] < y1 for b in taken):
        return False
    pts = box_points(box)
    for other in others:
        if inside(other, pts).any():
            return False
        v = np.asarray(other)
        if np.any((v[:, 0] > x0) & (v[:, 0] < x1) & (v[:, 1] > y0) & (v[:, 1] < y1)):
            return False
    return True


def _events_in(box: tuple[float, float, float, float], x: np.ndarray, y: np.ndarray) -> int:
    return int(np.count_nonzero((x >= box[0]) & (x <= box[1]) & (y >= box[2]) & (y <= box[3])))


def inside_point(outline: np.ndarray) -> tuple[float, float]:
    """A point inside a polygon: its vertex mean if inside, else the inside grid point
    nearest to it."""
    centre = outline.mean(axis=0)
    if inside(outline, centre[None, :])[0]:
        return float(centre[0]), float(centre[1])
    (x0, y0), (x1, y1) = outline.min(axis=0), outline.max(axis=0)
    gx, gy = np.meshgrid(np.linspace(x0, x1, 41), np.linspace(y0, y1, 41))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    hits = grid[inside(outline, grid)]
    if not len(hits):
        return float(centre[0]), float(centre[1])
    best = hits[np.argmin(((hits - centre) ** 2).sum(axis=1))]
    return float(best[0]), float(best[1])


def place_label(own: np.ndarray, others: Sequence[np.ndarray], size_pt: tuple[float, float],
                per_pt: tuple[float, float], xlim: Sequence[float], ylim: Sequence[float],
                x: np.ndarray, y: np.ndarray, taken: Sequence[tuple[float, float, float, float]] = (),
                preferred: Sequence[Anchor] = ()) -> Placement:
    """A label inside its own gate and inside no other gate of the panel: the
    ``preferred`` anchors first (a rectangle's inside corners), then a grid over
    the gate, the place covering the fewest events winning. A label that fits
    nowhere inside goes outside every gate, as near the gate as it can, with a
    leader line to a point inside its gate."""
    best: tuple[tuple[int, int, float], tuple[float, float, float, float]] | None = None
    target = inside_point(own)
    candidates = [text_box(a, size_pt, per_pt) for a in preferred]
    (ox0, oy0), (ox1, oy1) = own.min(axis=0), own.max(axis=0)
    gx, gy = np.meshgrid(np.linspace(max(ox0, xlim[0]), min(ox1, xlim[1]), 13),
                         np.linspace(max(oy0, ylim[0]), min(oy1, ylim[1]), 13))
    candidates += [_box_at(cx, cy, size_pt, per_pt) for cx, cy in zip(gx.ravel(), gy.ravel())]
    for i, box in enumerate(candidates):
        if not inside(own, box_points(box)).all() or not _clear(box, others, taken, xlim, ylim):
            continue
        cost = (int(i >= len(preferred)), _events_in(box, x, y),
                float(np.hypot((box[0] + box[1]) / 2 - target[0], (box[2] + box[3]) / 2 - target[1])))
        if best is None or cost < best[0]:
            best = (cost, box)
    if best is not None:
        b = best[1]
        return Placement((b[0] + b[1]) / 2, (b[2] + b[3]) / 2, b)
    # outside every gate, own included, with a leader line
    gx, gy = np.meshgrid(np.linspace(xlim[0], xlim[1], 25), np.linspace(ylim[0], ylim[1], 25))
    span = (xlim[1] - xlim[0], ylim[1] - ylim[0])
    lead: tuple[tuple[float, int], tuple[float, float, float, float]] | None = None
    for cx, cy in zip(gx.ravel(), gy.ravel()):
        box = _box_at(cx, cy, size_pt, per_pt)
        if not _clear(box, [own, *others], taken, xlim, ylim):
            continue
        cost = (float(np.hypot((cx - target[0]) / span[0], (cy - target[1]) / span[1])),
                _events_in(box, x, y))
        if lead is None or cost < lead[0]:
            lead = (cost, box)
    if lead is None:  # a crowded panel: the centre of the gate, over whatever is there
        return Placement(target[0], target[1], _box_at(*target, size_pt, per_pt), crowded=True)
    b = lead[1]
    return Placement((b[0] + b[1]) / 2, (b[2] + b[3]) / 2, b, target)


def wrapped(label: str, percent_text: str) -> list[str]:
    """A multi-population label, one line, then with the label's words wrapped."""
    words = label.split()
    options = [f"{label}\n{percent_text}"]
    if len(words) > 1:
        options.append("\n".join(words) + f"\n{percent_text}")
    return options


def region_phenotype(panel: GatePanel, region: Region, names: Mapping[str, str]) -> str:
    """``CD4+CD8−`` of a quadrant or half-open rectangle (``names``: channel -> marker)."""
    ranges = region_ranges(panel, region)
    if ranges is None:
        return ""
    signs = []
    for axis, channel in (("x", panel.x), ("y", panel.y)):
        lo, hi = ranges[axis]
        if lo is not None and hi is None:
            signs.append((names.get(channel, channel), "+"))
        elif hi is not None and lo is None:
            signs.append((names.get(channel, channel), L.MINUS))
    return L.phenotype_label(signs)


# ------------------------------------------------------------------ numbers
def fmt_frequency(percent: float) -> str:
    """``40.9%``; ``<0.1%`` for a non-empty population that rounds to 0."""
    if math.isnan(percent):
        return "\u2014"
    if 0 < percent < 0.05:
        return "<0.1%"
    return fmt_number(percent, 1) + "%"


def frequencies(panel: GatePanel, members: Mapping[str, np.ndarray], n_events: int) -> dict[str, dict[str, Any]]:
    """Per region key: count, parent count and percent of parent."""
    parent = members.get(panel.parent_key) if panel.parent_key else None
    parent_count = int(np.count_nonzero(parent)) if parent is not None else int(n_events)
    out = {}
    for region in panel.regions:
        count = int(np.count_nonzero(members[region.key]))
        out[region.key] = {"count": count, "parent_count": parent_count,
                           "percent": 100.0 * count / parent_count if parent_count else math.nan}
    return out


def _inverse(strategy: Any, value: float | None, xid: str | None) -> float | None:
    if value is None or xid is None:
        return value
    xform = strategy.transformations[xid]
    if not hasattr(xform, "inverse"):
        return None
    return float(xform.inverse(np.array([[float(value)]]))[0, 0])


def gate_rule(strategy: Any, panel: GatePanel, region: Region, channel_names: Mapping[str, str]) -> str:
    """A gate's thresholds in data units: ``CD3 (BV421) ≥ 1,500``; ``FSC-A 1–262,000``;
    quadrant dividers ``CD45RA (FITC) at 1,000``; ``polygon`` for a drawn shape."""
    import flowkit as fk

    gate = region.gate
    parts = []
    if isinstance(gate, fk.gates.QuadrantGate):
        for d in gate.dimensions:
            for v in d.values:
                value = _inverse(strategy, v, d.transformation_ref)
                parts.append(f"{channel_names.get(d.dimension_ref, d.dimension_ref)} divided at "
                             f"{fmt_bound(value) if value is not None else fmt_bound(v)}")
        return "; ".join(parts)
    if isinstance(gate, fk.gates.RectangleGate):
        for d in gate.dimensions:
            lo = _inverse(strategy, d.min, d.transformation_ref)
            hi = _inverse(strategy, d.max, d.transformation_ref)
            name = channel_names.get(d.id, d.id)
            if lo is not None and hi is not None:
                parts.append(f"{name} {fmt_bound(lo)}\u2013{fmt_bound(hi)}")
            elif lo is not None:
                parts.append(f"{name} \u2265 {fmt_bound(lo)}")
            elif hi is not None:
                parts.append(f"{name} < {fmt_bound(hi)}")
        return "; ".join(parts)
    if isinstance(gate, fk.gates.PolygonGate):
        return "polygon drawn in the panel"
    if isinstance(gate, fk.gates.EllipsoidGate):
        return "ellipse drawn in the panel"
    return type(gate).__name__


# ------------------------------------------------------------------ drawing
def _draw_gate(ax: Any, panel: GatePanel, region: Region) -> None:
    import flowkit as fk
    from matplotlib.patches import Ellipse, Polygon, Rectangle

    gate = region.gate
    style = {"edgecolor": "black", "lw": 1.0, "fill": False}
    if isinstance(gate, fk.gates.QuadrantGate):
        for d in gate.dimensions:
            for v in d.values:
                (ax.axvline if d.dimension_ref == panel.x else ax.axhline)(v, color="black", lw=1.0)
    elif isinstance(gate, fk.gates.RectangleGate):
        ranges = region_ranges(panel, region)
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        (xlo, xhi), (ylo, yhi) = ranges["x"], ranges["y"]
        xs = [x0 if xlo is None else xlo, x1 if xhi is None else xhi]
        ys = [y0 if ylo is None else ylo, y1 if yhi is None else yhi]
        ax.add_patch(Rectangle((xs[0], ys[0]), xs[1] - xs[0], ys[1] - ys[0], clip_on=True, **style))
    elif isinstance(gate, fk.gates.PolygonGate):
        ax.add_patch(Polygon(np.asarray(gate.vertices, dtype=float), closed=True, **style))
    elif isinstance(gate, fk.gates.EllipsoidGate) and len(gate.coordinates) == 2:
        vals, vecs = np.linalg.eigh(np.asarray(gate.covariance_matrix, dtype=float))
        width, height = 2 * np.sqrt(np.maximum(vals, 0) * gate.distance_square)
        angle = float(np.degrees(np.arctan2(vecs[1, 1], vecs[0, 1])))
        ax.add_patch(Ellipse(tuple(gate.coordinates), width=height, height=width, angle=angle, **style))


def _density(ax: Any, x: np.ndarray, y: np.ndarray, xlim: Sequence[float], ylim: Sequence[float]) -> None:
    from matplotlib.colors import LogNorm

    if len(x) > 0:
        rng = [list(xlim), list(ylim)]
        top = float(np.histogram2d(x, y, bins=128, range=rng)[0].max())
        ax.hist2d(x, y, bins=128, range=rng, cmin=1, cmap="viridis",
                  norm=LogNorm(vmin=1.0, vmax=max(top, 2.0)), rasterized=True)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)


@dataclass
class GatingSample:
    """What the figure draws of one sample."""

    values: Mapping[tuple[str, str | None], np.ndarray]
    limits: Mapping[tuple[str, str | None], tuple[float, float]]
    members: Mapping[str, np.ndarray]
    n_events: int
    panels: Sequence[GatePanel]
    channel_names: Mapping[str, str]  # gate channel -> axis label
    markers: Mapping[str, str] = field(default_factory=dict)  # gate channel -> marker
    transforms: Mapping[str, Any] = field(default_factory=dict)  # transform id -> transform


def panel_subject(panel: GatePanel, names: L.PopulationNames, markers: Mapping[str, str],
                  roles: Mapping[str, str] | None = None) -> str:
    """What a panel gates: ``CD38+``; several populations: ``T-cell subsets`` (the
    config's subsets), else ``CD4 × CD8``."""
    if len(panel.regions) == 1:
        region = panel.regions[0]
        what = names.full(region.name, region_phenotype(panel, region, markers))
    else:
        subset_leaves = {str(v).rstrip("/").split("/")[-1] for k, v in (roles or {}).items()
                         if k.startswith("subset ")}
        if subset_leaves and all(r.name in subset_leaves for r in panel.regions):
            what = "T-cell subsets"
        else:
            what = f"{markers.get(panel.x, panel.x)} \u00d7 {markers.get(panel.y, panel.y)}"
    return what


def panel_title(panel: GatePanel, names: L.PopulationNames, markers: Mapping[str, str],
                roles: Mapping[str, str] | None = None) -> str:
    """``CD38+ of T cells`` (two lines when long)."""
    parent_name = panel.parent_key.rsplit("/", 1)[-1] if panel.parent_key else ""
    parent = L.lower_first(names.short(parent_name)) if parent_name else "all events"
    what = panel_subject(panel, names, markers, roles)
    title = f"{what} of {parent}"
    if len(title) > 34:
        title = f"{what}\nof {parent}"
    return title


def label_size_pt(text: str, fontsize: float = GATE_PT) -> tuple[float, float]:
    """Approximate (width, height) in points of a bold label with its box."""
    lines = text.split("\n")
    return (max(len(line) for line in lines) * 0.66 * fontsize + 3.0,
            len(lines) * 1.1 * fontsize + 3.0)


def draw_gating(sample: GatingSample, names: L.PopulationNames, roles: Mapping[str, str] | None = None,
                ncol: int = NCOL) -> tuple[Any, list[dict[str, Any]]]:
    """The figure, and per panel its title, axes and populations (label, counts,
    percent and the printed label)."""
    import matplotlib.pyplot as plt

    panels = list(sample.panels)
    ncol = max(1, min(ncol, len(panels)))
    nrow = max(1, math.ceil(len(panels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(FIG_WIDTH_IN * ncol / NCOL, PANEL_HEIGHT_IN * nrow),
                             squeeze=False)
    shown, pending = [], []
    for index, panel in enumerate(panels):
        ax = axes[index // ncol][index % ncol]
        members = sample.members.get(panel.parent_key) if panel.parent_key else None
        x = sample.values[(panel.x, panel.x_transform)]
        y = sample.values[(panel.y, panel.y_transform)]
        if members is not None:
            x, y = x[members], y[members]
        xlim = sample.limits[(panel.x, panel.x_transform)]
        ylim = sample.limits[(panel.y, panel.y_transform)]
        _density(ax, x, y, xlim, ylim)
        freq = frequencies(panel, sample.members, sample.n_events)
        populations = []
        for region in panel.regions:
            _draw_gate(ax, panel, region)
            phenotype = region_phenotype(panel, region, sample.markers)
            f = freq[region.key]
            text = fmt_frequency(f["percent"])
            texts = [text]
            if len(panel.regions) > 1:
                texts = wrapped(names.short(region.name, phenotype), text)
                text = texts[0]
            entry = {"label": names.full(region.name, phenotype), "count": f["count"],
                     "parent_count": f["parent_count"], "percent": f["percent"],
                     "printed": text.replace("\n", " ")}
            populations.append(entry)
            pending.append((ax, panel, region, texts, x, y, xlim, ylim, entry))
        title = panel_title(panel, names, sample.markers, roles)
        ax.set_title(title, fontsize=TITLE_PT, pad=4)
        ax.set_xlabel(sample.channel_names.get(panel.x, panel.x), fontsize=LABEL_PT, labelpad=2)
        ax.set_ylabel(sample.channel_names.get(panel.y, panel.y), fontsize=LABEL_PT, labelpad=2)
        for axis, xid, lim in (("x", panel.x_transform, xlim), ("y", panel.y_transform, ylim)):
            apply_ticks(ax, axis, axis_ticks(sample.transforms.get(xid) if xid else None, lim), TICK_PT)
        ax.set_box_aspect(1)
        shown.append({"title": title.replace("\n", " "), "x": sample.channel_names.get(panel.x, panel.x),
                      "y": sample.channel_names.get(panel.y, panel.y), "populations": populations})
    for index in range(len(panels), nrow * ncol):
        axes[index // ncol][index % ncol].axis("off")
    fig.tight_layout(pad=0.4, w_pad=1.0, h_pad=0.8)
    # labels last: their place depends on the axes' size in points
    taken: dict[int, list] = {}
    placed: list[dict[str, Any]] = []
    for ax, panel, region, texts, x, y, xlim, ylim, entry in pending:
        bbox = ax.get_window_extent()
        per_pt = ((xlim[1] - xlim[0]) / (bbox.width * 72.0 / fig.dpi),
                  (ylim[1] - ylim[0]) / (bbox.height * 72.0 / fig.dpi))
        within = visible_box(panel, region, xlim, ylim)
        text = texts[0]
        if within is not None:  # the first wording narrow enough for the region
            room = (within[1] - within[0]) / per_pt[0] - 6.0
            text = next((t for t in texts if label_size_pt(t)[0] <= room), texts[-1])
        size = label_size_pt(text)
        own = region_outline(panel, region, xlim, ylim)
        style = {"fontsize": GATE_PT, "fontweight": "bold", "linespacing": 1.05, "annotation_clip": False,
                 "bbox": {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8}}
        if own is None:  # no 2-D shape to keep the label in
            anchor = best_anchor(label_candidates(panel, region, xlim, ylim), size, per_pt, xlim, ylim, x, y,
                                 taken.get(id(ax), []), within)
            taken.setdefault(id(ax), []).append(text_box(anchor, size, per_pt))
            gx, gy, ha, va, dx, dy = anchor
            ax.annotate(text, xy=(gx, gy), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                        **style)
            continue
        others = [o for r in panel.regions if r.key != region.key
                  for o in [region_outline(panel, r, xlim, ylim)] if o is not None]
        preferred = label_candidates(panel, region, xlim, ylim) if within is not None else []
        # the first wording with a free place (inside, or outside with a leader line);
        # in a panel its gates tile (quadrants), at last the percentage alone
        options = list(dict.fromkeys([text, *texts, texts[-1].rsplit("\n", 1)[-1]]))
        for text in options:
            size = label_size_pt(text)
            spot = place_label(own, others, size, per_pt, xlim, ylim, x, y, taken.get(id(ax), []),
                               preferred)
            if not spot.crowded:
                break
        entry["printed"] = text.replace("\n", " ")
        taken.setdefault(id(ax), []).append(spot.box)
        placed.append({"panel": id(ax), "region": region.key, "x": spot.x, "y": spot.y,
                       "leader_to": spot.leader_to})
        ax.annotate(text, xy=spot.leader_to or (spot.x, spot.y), xytext=(spot.x, spot.y), textcoords="data",
                    ha="center", va="center",
                    arrowprops={"arrowstyle": "-", "lw": 0.6, "color": "black", "shrinkA": 0, "shrinkB": 0}
                    if spot.leader_to else None, **style)
    return fig, shown


# ------------------------------------------------------------------ from an FCS file
def channel_names(sample: Any, strategy: Any, channels: Sequence[tuple[str, str | None, str | None]]
                  ) -> tuple[dict[str, str], dict[str, str]]:
    """Gate channel -> axis label (``CD3 (BV421)``) and -> marker (``CD3``)."""
    from aiha.cytometry.gating import _channel_index

    labels, markers = {}, {}
    pnn, pns = list(sample.pnn_labels), list(sample.pns_labels)
    for channel, _, comp in channels:
        try:
            idx = _channel_index(sample, strategy, channel, comp)
        except LookupError:
            labels[channel] = markers[channel] = L.channel_label(channel, "")
            continue
        labels[channel] = L.channel_label(pnn[idx], pns[idx] or "")
        if idx == getattr(sample, "time_index", None) and "timestep" in sample.get_metadata():
            labels[channel] += " (s)"  # FlowKit applies $TIMESTEP (seconds per tick)
        markers[channel] = L.channel_label(pnn[idx], "") if not (pns[idx] or "").strip() \
            else L.channel_label(pns[idx], "")
    return labels, markers


def load_gating_sample(fcs: str, sample_id: str, strategy: Any, roles: Mapping[str, str] | None = None,
                       options: Mapping[str, Any] | None = None) -> GatingSample:
    """Gate one FCS file with ``strategy`` (GatingML, or the file's FlowJo strategy):
    the panels on the path to the populations ``roles`` names (config
    ``cytometry.populations`` of the tube; every gate without it) and what they draw."""
    from aiha.cytometry.gating import display_values, gate_file, gate_results, memberships

    _, sample = gate_file(fcs, sample_id, strategy, options=options)
    wanted = wanted_keys(strategy, list((roles or {}).values())) if roles else None
    panels = gate_panels(strategy, scatter_channel(list(sample.pnn_labels)), wanted)
    channels = [c for p in panels for c in p.channels()]
    values, limits = display_values(sample, strategy, channels)
    members = memberships(gate_results(sample, strategy), strategy)
    labels_, markers = channel_names(sample, strategy, channels)
    return GatingSample(values, limits, members, int(sample.event_count), panels, labels_, markers,
                        dict(strategy.transformations))


def gating_facts(data: GatingSample, strategy: Any, shown: Sequence[Mapping[str, Any]],
                 names: L.PopulationNames, roles: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What the caption prints: the panels with their frequencies, every gate's
    thresholds in data units, the display scales and the abbreviations used."""
    rules = []
    for panel in data.panels:
        if panel.group is not None:  # a quadrant gate: its dividers once
            rules.append({"population": panel_subject(panel, names, data.markers, roles),
                          "rule": gate_rule(strategy, panel, panel.regions[0], data.channel_names)})
            continue
        for region in panel.regions:
            rules.append({"population": names.full(region.name, region_phenotype(panel, region, data.markers)),
                          "rule": gate_rule(strategy, panel, region, data.channel_names)})
    scales = sorted({L.scale_name(data.transforms[xid]) for p in data.panels
                     for xid in (p.x_transform, p.y_transform) if xid})
    texts = [t for s in shown for t in (s["title"], s["x"], s["y"], *(p["label"] for p in s["populations"]))]
    texts += [r["rule"] for r in rules]
    return {"events": data.n_events, "panels": list(shown), "thresholds": rules, "scales": scales,
            "abbreviations": [list(a) for a in L.abbreviations_used(texts)]}


def gating_figure_from_file(fcs: str, sample_id: str, strategy: Any, path: str | os.PathLike[str],
                            roles: Mapping[str, str] | None = None,
                            options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The gating figure of one FCS file, saved as SVG; returns its caption facts
    (:func:`gating_facts`)."""
    from aiha.cytometry.figures import save_svg

    data = load_gating_sample(fcs, sample_id, strategy, roles, options)
    names = L.PopulationNames(roles)
    fig, shown = draw_gating(data, names, roles)
    save_svg(fig, path)
    return gating_facts(data, strategy, shown, names, roles)


# ------------------------------------------------------------ what ran (methods)
def compensation_words(refs: Sequence[str | None]) -> list[str]:
    """The compensation the gates used, in words: ``FCS`` -> each file's own
    spillover matrix; ``uncompensated``/None -> none; any other reference -> the
    named matrix of the gating file (a FlowJo workspace's matrix)."""
    out = []
    for ref in sorted({str(r) for r in refs if r is not None} | ({"uncompensated"} if None in refs else set())):
        if ref == "FCS":
            out.append("the file's own spillover matrix ($SPILLOVER keyword)")
        elif ref == "uncompensated":
            out.append("none (uncompensated channels)")
        else:
            out.append(f"the gating file's compensation matrix \u201c{ref}\u201d")
    return out


def strategy_method(strategy: Any, roles: Mapping[str, str]) -> dict[str, Any]:
    """What a tube's gating did, for the methods text: the full gate path each role
    of ``roles`` (config ``cytometry.populations`` of the tube) resolved to, the
    compensation of the fluorescence gates and the scales (transforms) the gates
    were evaluated on."""
    from aiha.cytometry.populations import find_population

    gates = population_gates(strategy)
    keys = list(gates)
    leaves = [k.split("/")[-1] for k in keys]
    resolved = {role: "/" + find_population(keys, leaves, spec) for role, spec in roles.items()}
    comps: list[str | None] = []
    scales: set[str] = set()
    for region in gates.values():
        for channel, xform, comp in _dims(region.gate):
            if channel.upper().startswith(("FSC", "SSC", "TIME")):
                continue
            comps.append(comp)
            if xform and xform in strategy.transformations:
                scales.add(L.scale_name(strategy.transformations[xform]))
            elif not xform:
                scales.add("linear")
    return {"populations": resolved, "compensation": compensation_words(comps),
            "scales": sorted(scales)}
