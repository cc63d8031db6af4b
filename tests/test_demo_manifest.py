"""The demo raw exports regenerate byte for byte (resources/demo/raw_manifest.sha256)."""

from pathlib import Path

import yaml

from aiha.cleaning.profiles import read_profiles_yaml
from aiha.demo.cohort import load_spec
from aiha.demo.exports import build_site_exports, manifest, write_exports
from conftest import ROOT


def test_regenerated_exports_match_the_committed_manifest(tmp_path: Path):
    spec = load_spec(ROOT / "resources" / "demo" / "cohort.yaml")
    profiles = read_profiles_yaml(ROOT / "resources" / "sites.yaml")["sites"]
    exports = build_site_exports(spec, profiles)
    paths = write_exports(exports, tmp_path, {s: profiles[s]["encoding"] for s in exports})
    expected = (ROOT / "resources" / "demo" / "raw_manifest.sha256").read_text()
    assert manifest(paths, tmp_path) == expected
    # One line per file: 5 tables for each site of the specification.
    sites = {p.site for p in spec.patients}
    assert len(expected.splitlines()) == 5 * len(sites)


def test_multiplier_replicates_every_kind_with_new_record_numbers():
    one = load_spec(ROOT / "resources" / "demo" / "cohort.yaml")
    three = load_spec(ROOT / "resources" / "demo" / "cohort.yaml", 3)
    assert len(three.patients) == 3 * len(one.patients)
    assert len({p.record_number for p in three.patients}) == len(three.patients)
    assert len(three.adverse_events) == 3 * len(one.adverse_events)
    assert len(three.cytometry_patients) == 3 * len(one.cytometry_patients)
    kinds = lambda spec: sorted((p.diagnosis, p.course) for p in spec.patients)  # noqa: E731
    assert kinds(three) == sorted(kinds(one) * 3)


def _patient_rows(text: str, delimiter: str, drop: str | None = None) -> list[list[str]]:
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if drop in rows[0]:
        i = rows[0].index(drop)
        rows = [r[:i] + r[i + 1:] for r in rows]
    return rows


def test_prior_therapies_have_a_random_stream_of_their_own():
    """Stating every patient's prior therapies (no draw) or leaving a site's profile
    without codes.prior_therapy (no column) changes no other value of the exports."""
    from dataclasses import replace

    spec = load_spec(ROOT / "resources" / "demo" / "cohort.yaml")
    profiles = read_profiles_yaml(ROOT / "resources" / "sites.yaml")["sites"]
    drawn = build_site_exports(spec, profiles)
    stated = replace(spec, patients=tuple(replace(p, prior_therapies=("other",))
                                          for p in spec.patients))
    no_codes = {s: {**p, "codes": {k: v for k, v in p["codes"].items() if k != "prior_therapy"}}
                if s == "LON" else p for s, p in profiles.items()}
    for other in (build_site_exports(stated, profiles), build_site_exports(spec, no_codes)):
        assert other.keys() == drawn.keys()
        for site, tables in drawn.items():
            d = profiles[site]["delimiter"]
            for table, text in tables.items():
                if table != "patients":
                    assert other[site][table] == text, (site, table)
                else:
                    assert (_patient_rows(other[site][table], d, "prior_therapies")
                            == _patient_rows(text, d, "prior_therapies")), site
    assert "prior_therapies" not in _patient_rows(build_site_exports(spec, no_codes)["LON"]
                                                  ["patients"], ",")[0]
    assert "prior_therapies" in _patient_rows(drawn["AMS"]["patients"], ";")[0]


def test_drawn_prior_therapies_are_those_of_refractory_patients():
    import numpy as np

    from aiha.demo.exports import draw_prior_therapies
    from aiha.therapies import PRIOR_THERAPY_TYPES

    spec = load_spec(ROOT / "resources" / "demo" / "cohort.yaml")
    drawn = [draw_prior_therapies(p, np.random.default_rng([spec.seed, i, 14]))
             for i, p in enumerate(spec.patients)]
    assert all(d[0] == "corticosteroids" for d in drawn)  # every patient, first
    assert sum("rituximab" in d for d in drawn) > len(drawn) / 2  # most patients
    assert all(set(d) <= set(PRIOR_THERAPY_TYPES) and len(set(d)) == len(d) for d in drawn)
    for p, d in zip(spec.patients, drawn):
        assert len(d) <= max(p.prior_lines, 2)
        if p.diagnosis == "wAIHA":
            assert "complement_inhibitor" not in d
