"""Axis ticks of the cytometry plots, in data units.

A fluorescence axis is drawn on a transformed scale (logicle, arcsinh, FlowJo's
biexponential, ...); its ticks sit at decades of the compensated fluorescence (0,
10², 10³, ...) placed by applying the panel's own transform to those values, so a
tick labelled 10³ is exactly where an event of 1,000 units is drawn. A linear axis
(scatter, time) gets a few ticks with compact labels (``100k``).

No FlowKit import: a transform is anything with ``apply`` (and, for a linear
transform on a 0-1 display scale, ``inverse``) on an (n, 1) array.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aiha.formatting import MINUS

# Decades tried on a transformed axis (those inside the axis limits are kept).
DECADE_POWERS = range(1, 9)
# A decade is labelled only this far (fraction of the axis span) from a labelled one.
LABEL_GAP = 0.085
# A tick (labelled or not) is drawn only this far from another.
TICK_GAP = 0.025


@dataclass(frozen=True)
class Ticks:
    """Major tick positions (display units) with their labels (``""``: unlabelled),
    minor tick positions, and the data value of each major tick."""

    positions: tuple[float, ...]
    labels: tuple[str, ...]
    values: tuple[float, ...]
    minor: tuple[float, ...] = ()


def forward(transform: Any) -> Callable[[np.ndarray], np.ndarray]:
    """Data units -> display units of a transform (``None``: identity)."""
    if transform is None:
        return lambda v: np.asarray(v, dtype=float)
    return lambda v: transform.apply(np.asarray(v, dtype=float).reshape(-1, 1))[:, 0]


def decade_label(value: float) -> str:
    """``0``, ``10²`` (mathtext), ``−10³``."""
    if value == 0:
        return "0"
    power = round(math.log10(abs(value)))
    sign = "-" if value < 0 else ""
    return f"${sign}10^{{{power}}}$"


def decade_ticks(transform: Any, limits: Sequence[float], label_gap: float = LABEL_GAP,
                 tick_gap: float = TICK_GAP) -> Ticks:
    """Ticks at 0 and ±10^k, placed by ``transform`` (data -> display units),
    within ``limits`` (display units).

    Labels go first to 0, then to the positive decades from the top down, then to
    the negative ones; a decade too close to a labelled one keeps its tick
    unlabelled, and one too close to any tick is left out. Minor ticks at 2-9 x
    10^k where they are not crowded.
    """
    lo, hi = float(min(limits)), float(max(limits))
    span = hi - lo if hi > lo else 1.0
    to_display = forward(transform)
    candidates = [0.0] + [10.0 ** k for k in reversed(DECADE_POWERS)] + [-(10.0 ** k) for k in DECADE_POWERS]
    with np.errstate(all="ignore"):
        places = to_display(np.array(candidates))
    chosen: list[tuple[float, float, bool]] = []  # position, value, labelled
    for value, pos in zip(candidates, places):
        if not np.isfinite(pos) or pos < lo - 1e-12 or pos > hi + 1e-12:
            continue
        if any(abs(pos - p) < tick_gap * span for p, _, _ in chosen):
            continue
        # a negative decade needs more room: its label is wider ("−10²")
        gap = label_gap * (1.8 if value < 0 else 1.0) * span
        labelled = all(abs(pos - p) >= gap for p, _, lab in chosen if lab)
        chosen.append((float(pos), value, labelled))
    chosen.sort()
    minor_values = [sign * m * 10.0 ** k for k in DECADE_POWERS for m in range(2, 10) for sign in (1.0, -1.0)]
    with np.errstate(all="ignore"):
        minor_places = to_display(np.array(minor_values))
    minor = []
    majors = [p for p, _, _ in chosen]
    for value, pos in zip(minor_values, minor_places):
        if not np.isfinite(pos) or pos < lo or pos > hi:
            continue
        # a minor tick only on the logarithmic part of the scale: the decade below
        # it must be a drawn major tick, and it must not crowd its neighbours
        decade = math.copysign(10.0 ** math.floor(math.log10(abs(value))), value)
        if decade not in [v for _, v, _ in chosen]:
            continue
        if any(abs(pos - p) < 0.3 * tick_gap * span for p in majors + minor):
            continue
        minor.append(float(pos))
    return Ticks(
        positions=tuple(p for p, _, _ in chosen),
        labels=tuple(decade_label(v) if lab else "" for _, v, lab in chosen),
        values=tuple(v for _, v, _ in chosen),
        minor=tuple(sorted(minor)),
    )


def compact_number(value: float) -> str:
    """``0``, ``500``, ``50k``, ``1.5M``: a linear-axis tick label."""
    if value == 0:
        return "0"
    sign = MINUS if value < 0 else ""
    v = abs(value)
    for divisor, suffix in ((1e6, "M"), (1e3, "k")):
        if v >= divisor:
            return f"{sign}{v / divisor:g}{suffix}"
    return f"{sign}{v:g}"


def linear_ticks(limits: Sequence[float], transform: Any = None, max_ticks: int = 4) -> Ticks:
    """A few round ticks on a linear axis, labelled compactly. With a linear
    ``transform`` (display = data scaled, e.g. FlowJo's 0-1 linear scale) the round
    values are data units placed through it."""
    from matplotlib.ticker import MaxNLocator

    lo, hi = float(min(limits)), float(max(limits))
    if transform is not None:
        inverse = transform.inverse(np.array([[lo], [hi]], dtype=float))[:, 0]
        data_lo, data_hi = float(inverse[0]), float(inverse[1])
    else:
        data_lo, data_hi = lo, hi
    values = [float(v) for v in MaxNLocator(nbins=max_ticks, steps=[1, 2, 2.5, 5, 10]).tick_values(data_lo, data_hi)
              if data_lo - 1e-9 * abs(data_hi - data_lo) <= v <= data_hi + 1e-9 * abs(data_hi - data_lo)]
    positions = forward(transform)(np.array(values)) if values else np.array([])
    return Ticks(positions=tuple(float(p) for p in positions), labels=tuple(compact_number(v) for v in values),
                 values=tuple(values))


def is_linear(transform: Any) -> bool:
    """A transform that only scales (FlowKit's ``LinearTransform``)."""
    return transform is not None and type(transform).__name__ == "LinearTransform"


def axis_ticks(transform: Any, limits: Sequence[float]) -> Ticks:
    """Decade ticks on a transformed axis, round linear ticks otherwise."""
    if transform is None or is_linear(transform):
        return linear_ticks(limits, transform)
    return decade_ticks(transform, limits)


def apply_ticks(ax: Any, axis: str, ticks: Ticks, labelsize: float) -> None:
    """Set major/minor ticks of ``ax``'s ``"x"`` or ``"y"`` axis."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_ticks(list(ticks.positions), list(ticks.labels))
    target.set_ticks(list(ticks.minor), minor=True)
    ax.tick_params(axis=axis, which="major", labelsize=labelsize, length=3.5, width=0.6, pad=2)
    ax.tick_params(axis=axis, which="minor", length=2.0, width=0.4)


def round_bound(value: float, digits: int = 3) -> float:
    """A gate bound in data units rounded to ``digits`` significant digits."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def fmt_bound(value: float, digits: int = 3) -> str:
    """``1,000``, ``28,000``, ``1.5``, ``−200``: a gate bound as printed."""
    v = round_bound(float(value), digits)
    text = f"{abs(v):,.0f}" if abs(v) >= 100 else f"{abs(v):,g}"
    return (MINUS if v < 0 else "") + text
