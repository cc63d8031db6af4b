"""Synthetic, deterministic FCS 3.1 files for the two demo cytometry patients.

Only the demo generator uses the cohort timeline (ground truth). Events are drawn
from a fixed-seed generator per (patient, visit, tube), so every file is
byte-identical on regeneration. Each file carries:

- scatter (FSC-A, FSC-H, SSC-A) and a Time channel ($TIMESTEP 0.01 s);
- eight fluorescence detectors, marker names in ``$PnS``;
- fluorescence spillover applied to the true signals through the matrix written
  into ``$SPILLOVER`` (so compensation with that matrix recovers them);
- debris, doublets, monocytes, dead cells, saturated (margin) events, an unstable
  start of acquisition, B and NK cells and T-cell subsets.

The biology per visit (CD38+ share of T cells, naive/memory shares, activation and
proliferation after anti-CD3/CD28 stimulation) is in :func:`visit_biology`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from aiha.demo.cohort import CohortSpec, timeline
from aiha.demo.exports import manifest as demo_manifest

# Detector (PnN) and marker (PnS) of each channel, per tube. Scatter and Time first.
SCATTER_TIME: tuple[tuple[str, str], ...] = (
    ("FSC-A", ""),
    ("FSC-H", ""),
    ("SSC-A", ""),
    ("Time", ""),
)
DETECTORS: tuple[str, ...] = (
    "BV421-A",
    "BV510-A",
    "FITC-A",
    "PE-A",
    "PerCP-Cy5.5-A",
    "PE-Cy7-A",
    "APC-A",
    "APC-H7-A",
)
PANELS: dict[str, tuple[str, ...]] = {
    # marker of each detector, in DETECTORS order
    "phenotype": ("CD3", "Viability", "CD45RA", "CCR7", "CD4", "CD38", "HLA-DR", "CD8"),
    "function": ("CTV", "Viability", "CD69", "CD137", "CD4", "CD25", "CD3", "CD8"),
}
TUBE_CODES: dict[str, str] = {"phenotype": "PH", "function": "FN"}

# Spillover of each fluorochrome (row) into each detector (column), DETECTORS order.
SPILLOVER: np.ndarray = np.array(
    [
        # BV421 BV510  FITC   PE    PerCP  PE-Cy7  APC   APC-H7
        [1.000, 0.120, 0.010, 0.000, 0.000, 0.000, 0.000, 0.000],  # BV421
        [0.010, 1.000, 0.050, 0.005, 0.000, 0.000, 0.000, 0.000],  # BV510
        [0.000, 0.005, 1.000, 0.150, 0.030, 0.005, 0.000, 0.000],  # FITC
        [0.000, 0.000, 0.010, 1.000, 0.100, 0.020, 0.000, 0.000],  # PE
        [0.000, 0.000, 0.000, 0.010, 1.000, 0.080, 0.020, 0.030],  # PerCP-Cy5.5
        [0.000, 0.000, 0.000, 0.020, 0.010, 1.000, 0.005, 0.040],  # PE-Cy7
        [0.000, 0.000, 0.000, 0.000, 0.020, 0.010, 1.000, 0.120],  # APC
        [0.000, 0.000, 0.000, 0.000, 0.005, 0.020, 0.030, 1.000],  # APC-H7
    ]
)
TOP_OF_SCALE = 262143.0
TIMESTEP = 0.01  # seconds per Time tick
ACQUISITION_TICKS = 6000.0  # 60 s of acquisition
UNSTABLE_START_TICKS = 150.0  # first 1.5 s: fluidics not yet stable


@dataclass(frozen=True)
class VisitBiology:
    """True population shares (percent) at one visit."""

    cd38_of_t: float
    naive: float
    central_memory: float
    effector_memory: float
    temra: float
    divided_of_t: float
    cd69_of_t: float
    cd25_of_t: float
    cd137_of_t: float


@dataclass(frozen=True)
class PlannedSample:
    """One FCS file of the demo, with the sample-sheet fields and its biology."""

    sample_id: str
    file: str
    site: str
    record_number: str
    tube: str
    visit: str
    collection_date: date
    day: int
    patient_key: str
    patient_index: int
    visit_index: int
    biology: VisitBiology


def spillover_keyword(detectors: Sequence[str], matrix: np.ndarray) -> str:
    """The ``$SPILLOVER`` value: n, detector names, then the matrix row by row."""
    values = ",".join(f"{v:.4f}" for v in matrix.ravel())
    return f"{len(detectors)},{','.join(detectors)},{values}"


def visit_biology(day: int, relapse_day: int | None, patient_index: int) -> VisitBiology:
    """Population shares of a patient at ``day`` from the first daratumumab dose.

    Before the dose CD38+ T cells are 36-44% of CD3+. After it they are nearly
    absent, until a relapse, around which they return to about 20%. Naive cells
    give way to memory/effector cells over the first months; activation and
    proliferation after stimulation fall sharply after the dose and partly recover
    at relapse.
    """
    kind = patient_index % 4  # replicated cohorts (scale-up) repeat the same four kinds
    base_cd38 = (41.0, 38.0, 40.0, 37.0)[kind]
    base = {"naive": 46.0 - 2 * kind, "cm": 20.0, "em": 24.0, "temra": 10.0}
    post = {"naive": 24.0, "cm": 17.0, "em": 41.0, "temra": 18.0}
    at_relapse = relapse_day is not None and day >= relapse_day - 14
    if day <= 0:
        f = 0.0
        cd38 = base_cd38
        func = 1.0
    else:
        f = 1.0 - float(np.exp(-day / 30.0))
        cd38 = 0.25 + 0.05 * kind
        func = 0.12
        if at_relapse:
            f *= 0.55
            cd38 = 20.0
            func = 0.45
    shares = {k: base[k] + f * (post[k] - base[k]) for k in base}
    total = sum(shares.values())
    shares = {k: 100.0 * v / total for k, v in shares.items()}
    return VisitBiology(
        cd38_of_t=cd38,
        naive=shares["naive"],
        central_memory=shares["cm"],
        effector_memory=shares["em"],
        temra=shares["temra"],
        divided_of_t=68.0 * func,
        cd69_of_t=64.0 * func,
        cd25_of_t=55.0 * func,
        cd137_of_t=22.0 * func,
    )


def plan_samples(spec: CohortSpec, demo: Mapping[str, Any]) -> list[PlannedSample]:
    """Every FCS file of the demo: cytometry patients x visits x tubes.

    ``demo`` is the ``cytometry.demo`` config section: ``visits`` (list of
    ``{visit, day}``), ``relapse_visit`` (``{visit, offset_days}``: a visit at the
    clinical relapse of a relapsing patient) and ``late_visit`` (``{visit, day}``: the
    last visit of a patient in ongoing response), ``function_culture_days``.
    """
    planned: list[PlannedSample] = []
    accession = 0
    for p_index, key in enumerate(spec.cytometry_patients):
        tl = timeline(spec, key)
        relapse_day = (tl.relapse_date - tl.first_dose).days if tl.relapse_date else None
        visits = [(str(v["visit"]), int(v["day"])) for v in demo["visits"]]
        if relapse_day is not None:
            rv = demo["relapse_visit"]
            visits.append((str(rv["visit"]), relapse_day + int(rv["offset_days"])))
        else:
            lv = demo["late_visit"]
            visits.append((str(lv["visit"]), int(lv["day"])))
        for v_index, (visit, day) in enumerate(visits):
            accession += 1
            biology = visit_biology(day, relapse_day, p_index)
            for tube in ("phenotype", "function"):
                sample_id = f"FCM{accession:03d}-{TUBE_CODES[tube]}"
                planned.append(
                    PlannedSample(
                        sample_id=sample_id,
                        file=f"{sample_id}.fcs",
                        site=tl.site,
                        record_number=tl.record_number,
                        tube=tube,
                        visit=visit,
                        collection_date=tl.first_dose + timedelta(days=day),
                        day=day,
                        patient_key=key,
                        patient_index=p_index,
                        visit_index=v_index,
                        biology=biology,
                    )
                )
    return planned


def _pos(rng: np.random.Generator, n: int, median: float, sigma: float = 0.35) -> np.ndarray:
    return rng.lognormal(np.log(median), sigma, n)


def _neg(rng: np.random.Generator, n: int, sd: float = 60.0) -> np.ndarray:
    return rng.normal(0.0, sd, n)


def _choose(rng: np.random.Generator, n: int, percent: float) -> np.ndarray:
    return rng.random(n) < percent / 100.0


def simulate_events(
    tube: str, biology: VisitBiology, n_events: int, rng: np.random.Generator
) -> np.ndarray:
    """Raw (uncompensated) event matrix, float32, columns SCATTER_TIME + DETECTORS."""
    n = int(n_events)
    kind = rng.choice(
        6, size=n, p=[0.07, 0.05, 0.13, 0.045, 0.70, 0.005]
    )  # debris, doublet, monocyte, dead lymphocyte, live lymphocyte, saturated
    debris, doublet, mono, dead, lymph, sat = (kind == k for k in range(6))
    markers = {m: _neg(rng, n) for m in PANELS[tube]}

    # scatter
    fsc = rng.normal(70000, 7000, n)
    ssc = rng.lognormal(np.log(18000), 0.25, n)
    fsc[mono] = rng.normal(105000, 10000, mono.sum())
    ssc[mono] = rng.normal(60000, 9000, mono.sum())
    fsc[debris] = rng.uniform(2000, 30000, debris.sum())
    ssc[debris] = rng.uniform(1000, 40000, debris.sum())
    fsc[dead] = rng.normal(58000, 8000, dead.sum())
    if tube == "function":  # blasts after 4-5 days of stimulation are larger
        fsc[lymph] *= rng.uniform(1.0, 1.25, lymph.sum())
    height = fsc * rng.uniform(0.82, 0.92, n)
    fsc[doublet] *= rng.uniform(1.8, 2.1, doublet.sum())
    height[doublet] *= rng.uniform(0.95, 1.1, doublet.sum())
    fsc[sat] = TOP_OF_SCALE
    height[sat] = rng.uniform(0.7, 1.0, sat.sum()) * TOP_OF_SCALE

    # lineages among live lymphocytes (and doublets, which carry lymphocyte markers)
    lym_like = lymph | doublet | dead
    u = rng.random(n)
    t_cell = lym_like & (u < 0.70)
    b_cell = lym_like & (u >= 0.70) & (u < 0.83)
    nk = lym_like & (u >= 0.83)
    v = rng.random(n)
    cd4 = t_cell & (v < 0.62)
    cd8 = t_cell & (v >= 0.62) & (v < 0.95)

    def put(marker: str, mask: np.ndarray, median: float, sigma: float = 0.35) -> None:
        if marker in markers:
            markers[marker][mask] = _pos(rng, int(mask.sum()), median, sigma)

    put("CD3", t_cell, 8000)
    put("CD4", cd4, 6000)
    put("CD4", mono, 1500)
    put("CD8", cd8, 10000)
    put("CD8", nk & (rng.random(n) < 0.3), 2000)
    put("Viability", dead, 30000)
    markers["Viability"][~dead] = rng.normal(200, 80, int((~dead).sum()))
    if tube == "phenotype":
        put("CD38", t_cell & _choose(rng, n, biology.cd38_of_t), 5000)
        put("CD38", nk, 12000)
        put("CD38", b_cell & (rng.random(n) < 0.5), 8000)
        put("CD38", mono, 6000)
        w = rng.random(n) * 100.0
        c1 = biology.naive
        c2 = c1 + biology.central_memory
        c3 = c2 + biology.effector_memory
        naive = t_cell & (w < c1)
        cm = t_cell & (w >= c1) & (w < c2)
        temra = t_cell & (w >= c3)
        put("CD45RA", naive | temra | b_cell | nk, 7000)
        put("CCR7", naive | cm | b_cell, 4000)
        put("HLA-DR", b_cell, 15000)
        put("HLA-DR", mono, 20000)
        put("HLA-DR", t_cell & (rng.random(n) < 0.05), 3000)
    else:
        # CellTrace Violet: generation g has half the dye of generation g - 1
        ctv = _pos(rng, n, 40000, 0.15)
        divided = t_cell & _choose(rng, n, biology.divided_of_t)
        generations = rng.integers(1, 6, n)
        ctv[divided] /= 2.0 ** generations[divided]
        b_div = b_cell & (rng.random(n) < 0.05)
        ctv[b_div] /= 2.0
        markers["CTV"][lym_like] = ctv[lym_like]
        put("CD69", t_cell & _choose(rng, n, biology.cd69_of_t), 6000)
        put("CD25", t_cell & _choose(rng, n, biology.cd25_of_t), 7000)
        put("CD137", t_cell & _choose(rng, n, biology.cd137_of_t), 4000)
        put("CD69", nk & (rng.random(n) < 0.3), 3000)

    true = np.column_stack([markers[m] for m in PANELS[tube]])
    observed = true @ SPILLOVER
    observed += rng.normal(0.0, 40.0, observed.shape)
    observed *= rng.normal(1.0, 0.03, observed.shape)
    observed = np.minimum(observed, TOP_OF_SCALE)

    # time: sorted acquisition times; the unstable start carries distorted scatter
    ticks = np.sort(rng.uniform(0.0, ACQUISITION_TICKS, n))
    order = rng.permutation(n)
    fsc, height, ssc, observed = fsc[order], height[order], ssc[order], observed[order]
    unstable = ticks < UNSTABLE_START_TICKS
    distort = rng.uniform(0.4, 1.6, int(unstable.sum()))
    fsc[unstable] *= distort
    height[unstable] *= distort
    scatter = np.column_stack([fsc, height, ssc])
    scatter = np.clip(scatter, 0.0, TOP_OF_SCALE)
    events = np.column_stack([scatter, ticks, observed])
    return events.astype(np.float32)


def fcs_bytes(
    events: np.ndarray, tube: str, metadata: Mapping[str, str]
) -> bytes:
    """An FCS 3.1 file (flowio) holding ``events`` with the tube's channel labels."""
    import flowio

    pnn = [c for c, _ in SCATTER_TIME] + list(DETECTORS)
    pns = [s for _, s in SCATTER_TIME] + list(PANELS[tube])
    meta = {
        "SPILLOVER": spillover_keyword(DETECTORS, SPILLOVER),
        "TIMESTEP": f"{TIMESTEP}",
        "CYT": "Synthetic demo cytometer",
    }
    for i, name in enumerate(pnn, start=1):
        meta[f"P{i}R"] = "262144"
    meta.update(metadata)
    data = array("f")
    data.frombytes(np.ascontiguousarray(events, dtype="<f4").tobytes())
    handle = io.BytesIO()
    flowio.create_fcs(handle, data, pnn, opt_channel_names=pns, metadata_dict=meta)
    return handle.getvalue()


def write_atomic(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(payload)
    os.replace(tmp, path)


SAMPLE_SHEET_COLUMNS = [
    "sample_id",
    "file",
    "site",
    "record_number",
    "tube",
    "visit",
    "collection_date",
]


def sample_sheet_bytes(planned: Sequence[PlannedSample]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SAMPLE_SHEET_COLUMNS)
    for s in planned:
        writer.writerow(
            [s.sample_id, s.file, s.site, s.record_number, s.tube, s.visit,
             s.collection_date.isoformat()]
        )
    return buffer.getvalue().encode()


def generate_demo_fcs(
    spec: CohortSpec, demo: Mapping[str, Any], out_dir: str | os.PathLike[str]
) -> list[Path]:
    """Write every demo FCS file, ``samples.csv`` and ``MANIFEST.sha256`` into
    ``out_dir``; return the paths written (manifest last)."""
    out = Path(out_dir)
    planned = plan_samples(spec, demo)
    seed = int(demo["seed"])
    n_events = int(demo["events_per_file"])
    culture = int(demo["function_culture_days"])
    written: list[Path] = []
    for s in planned:
        tube_index = 0 if s.tube == "phenotype" else 1
        rng = np.random.default_rng([seed, s.patient_index, s.visit_index, tube_index])
        events = simulate_events(s.tube, s.biology, n_events, rng)
        acquired = s.collection_date + timedelta(days=culture if s.tube == "function" else 0)
        meta = {
            "DATE": acquired.strftime("%d-%b-%Y").upper(),
            "FIL": s.file,
            "SRC": s.sample_id,
            "TUBE NAME": s.tube,
        }
        path = out / s.file
        write_atomic(path, fcs_bytes(events, s.tube, meta))
        written.append(path)
    sheet = out / "samples.csv"
    write_atomic(sheet, sample_sheet_bytes(planned))
    written.append(sheet)
    manifest = out / "MANIFEST.sha256"
    write_atomic(manifest, demo_manifest(written, out).encode())
    written.append(manifest)
    return written


def check_manifest(manifest: str | os.PathLike[str]) -> list[str]:
    """Names whose bytes differ from the manifest (empty when all match)."""
    manifest = Path(manifest)
    bad = []
    for line in manifest.read_text().splitlines():
        digest, name = line.split("  ", 1)
        target = manifest.parent / name
        if not target.is_file() or hashlib.sha256(target.read_bytes()).hexdigest() != digest:
            bad.append(name)
    return bad
