"""Two renders of the same inputs in different directories give the same PDF bytes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pdfplumber
import yaml

from aiha.report import source_date_epoch

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests/data/report/results"


def _project_copy(dest: Path) -> Path:
    shutil.copytree(FIXTURE, dest / "results")
    shutil.copytree(ROOT / "resources/report", dest / "resources/report")
    shutil.copytree(ROOT / "resources/fonts", dest / "resources/fonts")
    shutil.copy2(ROOT / "config.yaml", dest / "config.yaml")
    return dest


def _render_in_subprocess(project: Path, env_extra: dict[str, str]) -> bytes:
    code = (
        "import yaml; from aiha.report import build_from_results;"
        "cfg = yaml.safe_load(open('config.yaml'));"
        "build_from_results('results', cfg, 'out', '.')"
    )
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env.update(env_extra)
    subprocess.run([sys.executable, "-c", code], cwd=project, env=env, check=True,
                   capture_output=True)
    return (project / "out/study_report.pdf").read_bytes()


def test_pdf_byte_identical_across_directories(tmp_path: Path) -> None:
    a = _render_in_subprocess(_project_copy(tmp_path / "one"), {"TZ": "UTC",
                                                                "PYTHONHASHSEED": "1"})
    b = _render_in_subprocess(_project_copy(tmp_path / "elsewhere/two"),
                              {"TZ": "Asia/Tokyo", "PYTHONHASHSEED": "2"})
    assert a == b
    assert (tmp_path / "one/out/study_report.html").read_bytes() == \
        (tmp_path / "elsewhere/two/out/study_report.html").read_bytes()
    # No absolute path of either checkout leaks into the PDF.
    assert str(tmp_path).encode() not in a


def test_pdf_dates_come_from_the_data_cutoff(tmp_path: Path) -> None:
    pdf = _render_in_subprocess(_project_copy(tmp_path / "p"), {})
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    cutoff = str(cfg["data"]["data_cutoff"]).replace("-", "")
    with pdfplumber.open(tmp_path / "p/out/study_report.pdf") as doc:
        meta = doc.metadata
    assert meta["CreationDate"].startswith(f"D:{cutoff}")
    assert meta["ModDate"].startswith(f"D:{cutoff}")
    assert meta["Title"] == cfg["report"]["title"]
    assert source_date_epoch(cfg) % 86400 == 0
