"""Byte-identical rebuilds: a second clean build, in another directory, gives the
same SHA-256 for the PDF and for every file under results/."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from conftest import copy_project, run_snakemake

pytestmark = pytest.mark.workflow


def digests(results: Path) -> dict[str, str]:
    return {
        p.relative_to(results).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(results.rglob("*"))
        if p.is_file()
    }


def test_second_build_elsewhere_is_byte_identical(demo_project: Path, tmp_path: Path):
    other = copy_project(tmp_path / "a" / "deeper" / "place" / "project")
    run_snakemake(other)
    first, second = digests(demo_project / "results"), digests(other / "results")
    assert {"report/study_report.pdf", "ard/ard.tsv", "cytometry/populations.tsv"} <= first.keys()
    assert any(k.startswith("cytometry/gated/") for k in first)  # the gating jobs' tables
    assert first.keys() == second.keys()
    differ = sorted(k for k in first if first[k] != second[k])
    assert not differ, differ
