"""Figures show what the statistics use: a gate's label sits inside its own gate
and inside no other (or outside all, with a leader line into its own); a sample
QC excluded is drawn greyed with the reason and no percentage."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aiha.cytometry.function_figure import Measured, legend_value, qc_exclusions
from aiha.cytometry.gating_figure import box_points, inside, place_label

XLIM, YLIM = (0.0, 100.0), (0.0, 100.0)
PER_PT = (100.0 / 150.0, 100.0 / 150.0)  # a 150-point-wide panel
SIZE = (34.0, 20.0)  # "CD8+ 52.5%" on two lines, in points
# FlowJo-style adjacent polygons: CD8+ on the left sharing an edge with CD4+CD8+ (DP),
# whose box (not its shape) would cover CD8+'s centre of mass.
CD8 = np.array([[5, 55], [45, 55], [45, 95], [5, 95]], float)
DP = np.array([[45, 55], [95, 55], [95, 95], [30, 96], [30, 75], [45, 75]], float)
CD4 = np.array([[45, 5], [95, 5], [95, 50], [45, 50]], float)


def events(n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return rng.uniform(0, 100, n), rng.uniform(0, 100, n)


def assert_inside_own_only(spot, own, others):
    pts = box_points(spot.box)
    assert inside(own, pts).all()
    for other in others:
        assert not inside(other, pts).any()
        assert not inside(other, np.array([[spot.x, spot.y]]))[0]


def test_each_label_of_adjacent_polygons_sits_inside_its_own_gate():
    x, y = events()
    taken = []
    for own, others in ((CD8, [DP, CD4]), (DP, [CD8, CD4]), (CD4, [CD8, DP])):
        spot = place_label(own, others, SIZE, PER_PT, XLIM, YLIM, x, y, taken)
        assert spot.leader_to is None
        assert_inside_own_only(spot, own, others)
        taken.append(spot.box)
    # no two labels overlap
    for i, a in enumerate(taken):
        for b in taken[i + 1:]:
            assert not (a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3])


def test_a_gate_too_small_for_its_label_gets_a_leader_line_from_outside_every_gate():
    x, y = events()
    tiny = np.array([[60, 60], [63, 60], [63, 63], [60, 63]], float)
    big = np.array([[20, 20], [58, 20], [58, 58], [20, 58]], float)
    spot = place_label(tiny, [big], SIZE, PER_PT, XLIM, YLIM, x, y)
    assert spot.leader_to is not None
    assert inside(tiny, np.array([spot.leader_to]))[0]  # the line ends inside its own gate
    pts = box_points(spot.box)
    assert not inside(tiny, pts).any() and not inside(big, pts).any()


def test_qc_exclusions_follow_the_claims_rule():
    qc = pd.DataFrame({"sample_id": ["a", "b", "c"], "events_kept": [30000, 8000, 29000],
                       "percent_kept": [97.0, 96.0, 70.0],
                       "qc_flag": ["", "low_events_kept", "low_percent_kept"]})
    got = qc_exclusions(qc, True, 10000, 80.0)
    assert got == {"b": "8,000 events kept, fewer than 10,000", "c": "70.0% of events kept, below 80%"}
    assert qc_exclusions(qc, False, 10000, 80.0) == {}  # flagged samples kept: all drawn as used


def test_an_excluded_sample_shows_the_reason_and_no_percentage():
    used = Measured("P1", "baseline", -3, 100, {}, {"activation": 40}, "a")
    gone = Measured("P1", "week4", 28, 100, {}, {"activation": 5}, "b", "8,000 events kept, fewer than 10,000")
    assert legend_value(used, "activation") == "40.0%"
    assert legend_value(gone, "activation") == "excluded by QC:\n8,000 events kept, fewer than 10,000"
    assert "%" not in legend_value(gone, "activation").split(":")[0]


def test_in_tiled_quadrants_a_label_that_fits_nowhere_is_marked_crowded():
    """Four quadrants tile the panel: no place outside every gate exists, so a label
    too wide for its quadrant is reported crowded (the figure then tries shorter
    wordings, down to the percentage alone)."""
    x, y = events()
    quads = [np.array(q, float) for q in (
        [[0, 0], [20, 0], [20, 20], [0, 20]], [[20, 0], [100, 0], [100, 20], [20, 20]],
        [[0, 20], [20, 20], [20, 100], [0, 100]], [[20, 20], [100, 20], [100, 100], [20, 100]])]
    wide = place_label(quads[0], quads[1:], (60.0, 30.0), PER_PT, XLIM, YLIM, x, y)
    assert wide.crowded
    narrow = place_label(quads[0], quads[1:], (20.0, 10.0), PER_PT, XLIM, YLIM, x, y)
    assert not narrow.crowded and narrow.leader_to is None
    assert_inside_own_only(narrow, quads[0], quads[1:])
