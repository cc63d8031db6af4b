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
    assert len(expected.splitlines()) == 45
