"""Identifier scan (issue 13): the raw exports carry identifiers in every form a
site writes them (another date format, a record number without its prefix or
with a space, a name with initials and particles, a patient of another site, an
adverse-event term, the cytometry sheet's visit); after a full build, nothing
under results/, .snakemake/, any log, the PDF text or the PDF metadata holds any
of them.

The probes are built here, independently of aiha.identifiers: from each
patient's raw name, record number and date of birth, in the forms listed below,
searched accent- and case-insensitively as whole words.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from datetime import datetime
from pathlib import Path

import pytest

from conftest import run_snakemake
from test_guardrails_inputs import DELIMITER, RAW, _copy_project, read_rows, write_rows

pytestmark = pytest.mark.workflow

# Free text written into the exports (CRE: ISO dates; AMS: dd-mm-yyyy).
INJECT = {
    ("CRE", "patients", 1, "comment"):
        "Born 05/10/1968 (1968-10-05, 5 Oct 1968); see C. Lefevre, HMN 451203 and 451203; "
        "AMS patient Johanna de Vries (AMC 4471823, 4471823), b. 14.03.1958, J. de Vries",
    ("CRE", "adverse_events", 1, "term"): "Herpes zoster (Mme LEFÈVRE, 19681005)",
    ("CRE", "adverse_events", 1, "description"): "=HYPERLINK(\"http://x\",\"Camille\") octobre 5, 1968",
    ("AMS", "labs", 1, "comment"): "Sample of Moreau J. (460881) and of Sanne Visser, 21 July 1975",
    # the same names in other Unicode forms: decomposed accents, a soft hyphen and a
    # zero-width space inside, a zero-width space as the word break (issue 25)
    ("AMS", "labs", 2, "comment"):
        "Copy to Camille Lefe\u0301vre, Vi\u00adsser and Jo\u200bhanna de\u200bVries",
}
VISIT = ("FCM005-PH", "month3 Sanne Visser 5520194")


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def probes(project: Path) -> set[str]:
    from aiha.cleaning.profiles import read_profiles_yaml

    sites = read_profiles_yaml(project / "resources" / "sites.yaml")["sites"]
    out: set[str] = set()
    for site_dir in sorted((project / RAW).iterdir()):
        if site_dir.name not in sites:
            continue
        prof = sites[site_dir.name]
        text = (site_dir / "patients.csv").read_text("utf-8")
        for r in csv.DictReader(io.StringIO(text, newline=""), delimiter=prof["delimiter"]):
            out.add(r["name"])
            out |= {p for p in re.split(r"[\s'-]+", r["name"]) if len(p) >= 3}
            rec = r["record_number"]
            out.add(rec)
            out |= set(re.findall(r"\d{5,}", rec))
            birth = datetime.strptime(r["birth_date"], prof["date_format"]).date()
            for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%m/%d/%Y", "%Y%m%d", "%d%m%Y",
                        "%d %B %Y", "%d %b %Y", "%B %d, %Y"):
                out.add(birth.strftime(fmt))
            out.add(f"{birth.day}.{birth.month}.{birth.year}")
            out.add(f"{birth.day}/{birth.month}/{birth.year}")
    return {fold(p) for p in out}


def find(text: str, words: set[str]) -> list[str]:
    # invisible characters (format characters) do not hide a word from the probe
    t = fold("".join(c for c in unicodedata.normalize("NFC", text)
                     if unicodedata.category(c) != "Cf"))
    return sorted(w for w in words if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", t))


def inject(project: Path) -> None:
    for (site, table, row, column), value in INJECT.items():
        path = project / RAW / site / f"{table}.csv"
        rows = read_rows(path, DELIMITER[site])
        rows[row][rows[0].index(column)] = value
        write_rows(path, rows, DELIMITER[site])
    sheet = project / RAW / "cytometry" / "samples.csv"
    rows = read_rows(sheet, ",")
    for r in rows[1:]:
        if r[0] == VISIT[0]:
            r[rows[0].index("visit")] = VISIT[1]
    write_rows(sheet, rows, ",")


def test_no_identifier_anywhere_after_a_build(demo_project: Path, tmp_path: Path):
    import pdfplumber

    work = _copy_project(demo_project, tmp_path / "project")
    inject(work)
    run_snakemake(work)
    words = probes(work)
    # the probes find what was injected (the raw exports do hold them)
    raw = "\n".join((work / RAW / s / f"{t}.csv").read_text("utf-8") for s, t, *_ in INJECT)
    assert {"451203", "4471823", "1968-10-05", "lefevre", "vries", "johanna"} <= set(find(raw, words))

    leaks = {}
    files = [p for d in ("results", ".snakemake") for p in (work / d).rglob("*") if p.is_file()]
    files += list(work.glob("*.log"))
    assert any(p.suffix == ".log" for p in files)
    for path in files:
        if path.suffix == ".pdf":
            continue
        hits = find(path.read_bytes().decode("utf-8", errors="replace"), words)
        if hits:
            leaks[str(path.relative_to(work))] = hits
    # Every PDF: the study report, the listings (where free text is printed) and
    # their staged copies.
    pdfs = sorted((work / "results").rglob("*.pdf"))
    assert {p.name for p in pdfs} >= {"study_report.pdf", "study_listings.pdf"}
    texts = []
    for pdf in pdfs:
        with pdfplumber.open(pdf) as doc:
            text = "\n".join(page.extract_text() or "" for page in doc.pages)
            meta = repr(doc.metadata)
        texts.append(text)
        for name, content in ((f"{pdf.name} text", text), (f"{pdf.name} metadata", meta)):
            hits = find(content, words)
            if hits:
                leaks[str(pdf.relative_to(work)) + ": " + name] = hits
    every = "\n".join(texts)
    assert "[redacted]" in every and "'=HYPERLINK" in every.replace("\n", "")
    assert not leaks, leaks
