"""Speed of the cytometry gating: FlowKit (the workflow's path) against a plain
numpy evaluation of the same gates, in the same process, identical counts asserted.

Stages, each timed separately (median of --repeats runs), events/s reported:

  read        FCS file -> event array (FlowKit ``Sample`` | flowio + numpy.frombuffer)
  compensate  spillover from $SPILLOVER (FlowKit ``Matrix.apply`` | matrix product)
  transform   each gated fluorescence channel once (FlowKit logicle/asinh | none: the
              numpy path maps gate bounds back to linear units once instead)
  gate        the whole strategy (FlowKit ``GatingStrategy.gate_sample(sample,
              cache_events=True)``, which compensates and transforms internally |
              boolean masks)
  count       population table from the results (FlowKit report | mask sums)

FlowKit runs three ways: gates on the logicle scale (as authored), on the asinh
scale, and with bounds mapped to linear units (``cytometry.gate_in_linear_units``,
the workflow default: no event is transformed, same events gated).

The FlowKit end-to-end time is read + gate + count (what a workflow job does);
compensate and transform are shown to explain the gate stage.

Usage: python benchmarks/cytometry_bench.py [--events 100000 1000000] [--repeats 5]
Results go to benchmarks/out/cytometry_bench.json, and as a Markdown table to stdout
and into benchmarks/README.md between the ``cytometry-bench`` markers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import flowkit as fk  # noqa: E402

from aiha.cytometry import demo, gating, reference  # noqa: E402
from record import machine, machine_line, write_section  # noqa: E402

GATING = ROOT / "resources" / "cytometry" / "gating_phenotype.v1.xml"
ASINH = {"t": 262144, "m": 4.5, "a": 0.0}


def timed(fn, repeats: int):
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def make_file(folder: Path, n_events: int) -> Path:
    rng = np.random.default_rng(20240611)
    events = demo.simulate_events("phenotype", demo.visit_biology(-3, None, 0), n_events, rng)
    path = folder / f"bench_{n_events}.fcs"
    path.write_bytes(demo.fcs_bytes(events, "phenotype", {"FIL": path.name}))
    return path


def bench_flowkit(path: Path, transform: str, repeats: int, linear_bounds: bool = False) -> tuple[dict, dict]:
    strategy = gating.load_gatingml(GATING, transform, ASINH, linear_bounds=linear_bounds)
    needed = gating.required_channels(strategy)
    stages = {}
    stages["read"], sample = timed(lambda: gating.read_sample(str(path), needed, "bench"), repeats)
    spill = sample.get_metadata()["spillover"]
    detectors = [sample.pnn_labels[i] for i in sample.fluoro_indices]
    markers = [sample.pns_labels[i] for i in sample.fluoro_indices]
    matrix = fk.Matrix(spill, detectors, markers)
    stages["compensate"], comp = timed(lambda: matrix.apply(sample), repeats)
    if linear_bounds:
        stages["transform"] = 0.0  # bounds mapped to linear units once; no event transformed
    else:
        xform = next(iter(strategy.transformations.values())) if transform == "logicle" else \
            strategy.transformations[next(k for k in strategy.transformations if k.endswith("_asinh"))]
        fluor_idx = [sample.pnn_labels.index(d) for d in detectors]
        stages["transform"], _ = timed(lambda: [xform.apply(comp[:, [i]]) for i in fluor_idx], repeats)
    stages["gate"], results = timed(lambda: gating.gate_results(sample, strategy), repeats)
    stages["count"], table = timed(lambda: gating._population_rows(results, "bench"), repeats)
    stages["end_to_end"] = stages["read"] + stages["gate"] + stages["count"]
    return stages, reference.counts_from_table(table)


def bench_numpy(path: Path, repeats: int) -> tuple[dict, dict]:
    strategy = gating.load_gatingml(GATING, "logicle")
    stages = {}
    stages["read"], (raw, pnn, pns, text) = timed(lambda: reference.read_fcs_array(str(path)), repeats)
    stages["compensate"], _ = timed(lambda: reference.compensate(raw, pnn, text["spillover"]), repeats)
    stages["transform"] = 0.0
    # gate includes compensation (as FlowKit's gate stage does) and mask building
    stages["gate"], counts = timed(
        lambda: reference.gate_counts(raw, pnn, pns, text["spillover"], strategy), repeats)
    stages["count"] = 0.0  # the counts are summed inside gate_counts
    stages["end_to_end"] = stages["read"] + stages["gate"] + stages["count"]
    return stages, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "cytometry_bench.json"))
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite benchmarks/README.md")
    args = parser.parse_args()
    host = machine()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.events:
            path = make_file(Path(tmp), n)
            np_stages, np_counts = bench_numpy(path, args.repeats)
            rows.append({"events": n, "engine": "numpy", **np_stages})
            for transform, linear in (("logicle", False), ("asinh", False), ("logicle", True)):
                fk_stages, fk_counts = bench_flowkit(path, transform, args.repeats, linear)
                engine = "flowkit-linear-bounds" if linear else f"flowkit-{transform}"
                assert fk_counts == np_counts, f"counts differ at {n} events ({engine})"
                rows.append({"events": n, "engine": engine, **fk_stages})
    stages = ["read", "compensate", "transform", "gate", "count", "end_to_end"]
    names = {"numpy": "numpy", "flowkit-logicle": "FlowKit, logicle", "flowkit-asinh": "FlowKit, asinh",
             "flowkit-linear-bounds": "FlowKit, linear bounds (default)"}
    lines = [machine_line(host, [round(x, 2) for x in os.getloadavg()])
             + f" FlowKit {fk.__version__}, numpy {np.__version__}; median of {args.repeats} runs"
             " per stage, events/s in brackets; counts identical in every row (asserted).", "",
             "| events | engine | read | compensate | transform | gate | count | end to end | × numpy |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        base = next(b for b in rows if b["events"] == r["events"] and b["engine"] == "numpy")
        cells = [(f"{r[s] * 1000:.0f} ms ({r['events'] / r[s] / 1e6:.1f} M/s)"
                  if s != "count" else f"{r[s] * 1000:.0f} ms") if r[s] > 0 else "–" for s in stages]
        lines.append(f"| {r['events']:,} | {names[r['engine']]} | {' | '.join(cells)} | "
                     f"{r['end_to_end'] / base['end_to_end']:.1f} |")
    text = "\n".join(lines)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "machine": host, "versions": {"flowkit": fk.__version__, "numpy": np.__version__},
        "repeats": args.repeats, "seconds": rows,
    }, indent=2))
    if not args.no_readme:
        write_section("cytometry-bench", text)
        print("updated benchmarks/README.md")


if __name__ == "__main__":
    main()
