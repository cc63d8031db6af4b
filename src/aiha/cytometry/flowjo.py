"""Write a GatingML strategy as a FlowJo 10 workspace (.wsp) for given FCS files.

FlowKit's own exporter writes the workspace; three gaps are closed here so that
FlowKit reads the same gates back (tests check identical counts):

- quadrant gates, which the exporter does not support, become one rectangle gate
  per quadrant (same bounds, same population names);
- gate dimensions named by marker ($PnS) are renamed to their detector ($PnN), as
  FlowJo names them, and the file's ``$SPILLOVER`` becomes the workspace matrix;
- the matrix is copied into each sample (FlowJo and FlowKit's reader keep it per
  sample), and the modification date is fixed so the file is deterministic.

Written by FlowKit, not FlowJo: that FlowJo itself opens the file is untested.
"""

from __future__ import annotations

import copy
import io
import os
from collections.abc import Sequence
from pathlib import Path

import flowkit as fk
from flowkit._utils.wsp_utils import export_flowjo_wsp  # not re-exported by FlowKit 1.3.2
from flowkit.exceptions import QuadrantReferenceError
from lxml import etree

from aiha.cytometry.gating import read_sample, required_channels

MATRIX_ID = "Acquisition-defined"
FIXED_MOD_DATE = "Thu Jan 01 00:00:00 UTC 2026"


def flowjo_strategy(strategy: fk.GatingStrategy, sample: fk.Sample) -> fk.GatingStrategy:
    """The strategy with detector-named dimensions, a named matrix from the
    sample's spillover, and quadrants split into rectangles."""
    fluoro = list(sample.fluoro_indices)
    detectors = [sample.pnn_labels[i] for i in fluoro]
    markers = [sample.pns_labels[i] for i in fluoro]
    to_detector = dict(zip(markers, detectors))
    spill = sample.get_metadata()["spillover"]
    out = fk.GatingStrategy()
    out.add_comp_matrix(MATRIX_ID, fk.Matrix(spill, detectors, markers))
    for xid, xform in strategy.transformations.items():
        out.add_transform(xid, xform)

    def dim(d: object, lo: float | None, hi: float | None) -> fk.Dimension:
        comp = d.compensation_ref not in (None, "uncompensated")
        name = d.dimension_ref if isinstance(d, fk.QuadrantDivider) else d.id
        return fk.Dimension(to_detector.get(name, name), MATRIX_ID if comp else "uncompensated",
                            d.transformation_ref, lo, hi)

    for name, path in strategy.get_gate_ids():
        try:
            gate = strategy.get_gate(name, path)
        except QuadrantReferenceError:
            continue
        if isinstance(gate, fk.gates.QuadrantGate):
            dividers = {d.id: d for d in gate.dimensions}
            for q_id, quadrant in gate.quadrants.items():
                dims = [dim(dividers[r], *quadrant.get_divider_range(r)) for r in quadrant.divider_refs]
                out.add_gate(fk.gates.RectangleGate(q_id, dims), path)
        elif isinstance(gate, fk.gates.RectangleGate):
            out.add_gate(fk.gates.RectangleGate(name, [dim(d, d.min, d.max) for d in gate.dimensions]), path)
        elif isinstance(gate, fk.gates.PolygonGate):
            dims = [dim(d, None, None) for d in gate.dimensions]
            out.add_gate(fk.gates.PolygonGate(name, dims, gate.vertices), path)
        else:
            raise NotImplementedError(f"gate {name!r}: {type(gate).__name__} cannot be exported to FlowJo")
    return out


def export_workspace(strategy: fk.GatingStrategy, fcs_paths: Sequence[str | os.PathLike[str]],
                     out_path: str | os.PathLike[str], group: str = "All Samples") -> None:
    """Write one workspace holding ``strategy`` for every FCS file (one tube)."""
    needed = required_channels(strategy)
    samples = [read_sample(p, needed, sample_id=Path(p).name) for p in fcs_paths]
    buffer = io.BytesIO()
    export_flowjo_wsp(flowjo_strategy(strategy, samples[0]), group, samples, buffer)
    root = etree.fromstring(buffer.getvalue())
    root.set("modDate", FIXED_MOD_DATE)
    matrix = root.find("Matrices")[0]
    for sample_el in root.find("SampleList").findall("Sample"):
        sample_el.insert(0, copy.deepcopy(matrix))
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
    os.replace(tmp, out)
