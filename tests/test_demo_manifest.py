"""The demo raw exports regenerate byte for byte (resources/demo/raw_manifest.sha256)."""

from pathlib import Path

import yaml

from aiha.demo.cohort import load_spec
from aiha.demo.exports import build_site_exports, manifest, write_exports
from conftest import ROOT


def test_regenerated_exports_match_the_committed_manifest(tmp_path: Path):
    spec = load_spec(ROOT / "resources" / "demo" / "cohort.yaml")
    profiles = yaml.safe_load((ROOT / "resources" / "sites.yaml").read_text())["sites"]
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
