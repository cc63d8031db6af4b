"""Report injection through the real workflow: HTML/CSS payloads in the free text
of a site export (a patient comment and an adverse-event description) reach the
PDF as literal text, and nothing is fetched, attached or restyled.

tests/test_report_security.py covers the renderer on fixtures; this runs the
workflow from the raw export to results/report/study_report.pdf. It copies the
shared demo build (results and .snakemake metadata), so only the jobs downstream
of the changed exports run (cleaning, scoring, statistics, audit, report); the
the gating results are reused.
"""

from __future__ import annotations

import csv
import json
import io
import re
import shutil
import socket
import threading
import zlib
from pathlib import Path

import pdfplumber
import pytest

from conftest import run_snakemake
from test_guardrails_inputs import _copy_project, rewrite

pytestmark = pytest.mark.workflow

# The image URL points at a local listener (_Listener) that counts connections. Port
# 9 (discard) needs privileges to bind; without them the listener takes a free port
# and the URL is rewritten to it, so the "nothing was fetched" check always runs.
PAYLOADS = [
    '<link rel="attachment" href="file:///etc/passwd">',
    '<img src="http://127.0.0.1:9/x">',
    '<style>td::after{content:"99.9"}</style>',
]


def _payloads(port: int) -> list[str]:
    return [p.replace("127.0.0.1:9/", f"127.0.0.1:{port}/") for p in PAYLOADS]


def _fragments(payloads: list[str]) -> list[str]:
    # A narrow cell may wrap a URL after any "/": no piece spans one.
    pieces = [piece for p in payloads for piece in re.split(r"/+", p)]
    return [piece for piece in pieces if len(piece) >= 4]


def _set_free_text(path: Path, column: str, record_number: str, payload: str) -> None:
    rows = list(csv.reader(path.read_text("utf-8").splitlines(), delimiter=";"))
    i = rows[0].index(column)
    hits = [r for r in rows[1:] if r[0] == record_number]
    assert hits
    hits[0][i] = payload
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\n").writerows(rows)
    rewrite(path, buf.getvalue().encode("utf-8"))


def _pdf_objects(data: bytes) -> bytes:
    """The PDF's bytes with every Flate stream inflated (object streams included)."""
    parts = [data]
    for m in re.finditer(rb"stream\r?\n", data):
        end = data.find(b"endstream", m.end())
        try:
            parts.append(zlib.decompress(data[m.end():end]))
        except zlib.error:
            continue
    return b"\n".join(parts)


class _Listener:
    """Counts connections to 127.0.0.1:<port> (the payload's image URL) while it runs.

    Port 9 when it can be bound, else a free port chosen by the system."""

    def __init__(self) -> None:
        self.connections = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind(("127.0.0.1", 9))
        except OSError:  # no privilege for a port below 1024
            self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


def test_payloads_in_free_text_stay_text(demo_project: Path, tmp_path: Path):
    work = _copy_project(demo_project, tmp_path / "project")
    site = work / "data" / "demo" / "AMS"
    # AMS patient W01 (the first row) and its adverse event
    first = (site / "patients.csv").read_text("utf-8").splitlines()[1].split(";")[0]
    listener = _Listener()
    payloads = _payloads(listener.port)
    try:
        _set_free_text(site / "patients.csv", "comment", first, " ".join(payloads))
        _set_free_text(site / "adverse_events.csv", "description", first, " ".join(payloads))
        run_snakemake(work, "results/report/study_report.pdf",
                      "results/report/study_listings.pdf")
    finally:
        listener.close()
    assert listener.connections == 0  # the <img> URL was never fetched

    report = work / "results" / "report"
    # The free text is printed in the listings document; the study report carries only
    # internal links (each number to its ARD row).
    for name in ("study_report.pdf", "study_listings.pdf"):
        data = (report / name).read_bytes()
        objects = _pdf_objects(data)
        for marker in (b"/EmbeddedFile", b"/EmbeddedFiles", b"/Filespec", b"/URI", b"/Launch",
                       b"/JavaScript"):
            assert marker not in objects, (name, marker)
        assert b"root:x:0:0" not in objects  # /etc/passwd not embedded
        with pdfplumber.open(report / name) as doc:
            assert all(a["data"].get("Dest") and not a["data"].get("A")
                       for page in doc.pages for a in page.annots), name
    with pdfplumber.open(report / "study_listings.pdf") as doc:
        text = "\n".join(page.extract_text() or "" for page in doc.pages)
    flat = re.sub(r"\s+", "", text)
    # The payload is printed as literal text (patient comment and AE description).
    # Text extraction interleaves the lines of neighbouring table cells, so each
    # payload is matched in pieces that a line break in its cell cannot split.
    for piece in _fragments(payloads):
        assert flat.count(re.sub(r"\s+", "", piece)) >= 2, (piece, text[-3000:])
    # "99.9" appears only inside the payload: the <style> did not restyle a cell.
    assert flat.count("99.9") == flat.count(re.sub(r"\s+", "", payloads[2]))
    # The HTML carries the payload escaped, never as markup.
    html = (report / "study_listings.html").read_text("utf-8")
    assert "<style>td::after" not in html and '<img src="http' not in html
    assert "&lt;style&gt;td::after" in html
    # The identifiers of the export stay out (the payload sits next to them).
    assert first not in text
    shutil.rmtree(work / "data")  # 40 MB of hard links: free the copy early


def test_the_listener_counts_a_fetch():
    """The "never fetched" check above can fail: a connection to the URL is counted."""
    import time

    listener = _Listener()
    try:
        with socket.create_connection(("127.0.0.1", listener.port), timeout=2):
            pass
        deadline = time.monotonic() + 5
        while listener.connections == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        listener.close()
    assert listener.connections == 1
    assert "127.0.0.1:9/" not in _payloads(listener.port)[1] or listener.port == 9


# ------------------------------------------------ the published report is never stale
def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _staged_document(root: Path, ard_text: str = "stat_id\tgroup\tstatistic\tvalue\nx\tall\tn\t1\n"):
    """A staged document (PDF, HTML and manifest) rendered from ``root/ard.tsv``."""
    from aiha.report.render import write_manifest

    ard = root / "ard.tsv"
    ard.write_text(ard_text, encoding="utf-8")
    staging = root / "staging"
    staging.mkdir(exist_ok=True)
    pdf, html = staging / "study_report.pdf", staging / "study_report.html"
    pdf.write_bytes(b"%PDF-1.7 made from " + _sha(ard).encode())
    html.write_text(f"<dd>SHA-256 {_sha(ard)}</dd>", encoding="utf-8")
    manifest = staging / "study_report.manifest.json"
    write_manifest(manifest, {"ard": str(ard)}, pdf, html)
    return {"pdf": pdf, "html": html, "manifest": manifest}


def test_publish_checks_the_manifest_against_the_current_ard(tmp_path: Path):
    from aiha.report.render import PublishError, publish_document

    staged = _staged_document(tmp_path)
    out = tmp_path / "report"
    published = {k: out / v.name for k, v in staged.items()}
    publish_document(staged, published)
    for k in staged:
        assert published[k].read_bytes() == staged[k].read_bytes()
    before = {k: p.read_bytes() for k, p in published.items()}

    # The ARD changes after the render: the staged document is refused and nothing
    # published changes.
    (tmp_path / "ard.tsv").write_text("stat_id\tgroup\tstatistic\tvalue\nx\tall\tn\t2\n")
    with pytest.raises(PublishError) as err:
        publish_document(staged, published)
    assert f"file {tmp_path / 'ard.tsv'}:" in str(err.value)
    assert "rendered from another version of this input (ard" in str(err.value)
    assert {k: p.read_bytes() for k, p in published.items()} == before
    assert not list(out.glob(".*.tmp"))


def test_publish_refuses_a_pdf_its_manifest_does_not_describe(tmp_path: Path):
    from aiha.report.render import PublishError, publish_document

    staged = _staged_document(tmp_path)
    staged["pdf"].write_bytes(b"%PDF-1.7 half written")
    with pytest.raises(PublishError, match="not the PDF"):
        publish_document(staged, {k: tmp_path / "out" / v.name for k, v in staged.items()})
    assert not (tmp_path / "out" / "study_report.pdf").exists()


def test_publish_refuses_a_report_that_does_not_print_its_ard_digest(tmp_path: Path):
    from aiha.report.render import PublishError, check_manifest, write_manifest

    staged = _staged_document(tmp_path)
    staged["html"].write_text("<dd>no digest</dd>", encoding="utf-8")
    write_manifest(staged["manifest"], {"ard": str(tmp_path / "ard.tsv")}, staged["pdf"],
                   staged["html"])
    with pytest.raises(PublishError, match="does not record the digest of the ARD"):
        check_manifest(staged["manifest"], staged["pdf"], staged["html"])


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path):
    from aiha.report.render import replace_atomic

    target = tmp_path / "study_report.pdf"
    target.write_bytes(b"previous")

    def write_half(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        replace_atomic(target, write_half)
    assert target.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study_report.pdf"]


def test_the_report_is_rebuilt_after_a_failed_render_and_publish(tmp_path: Path):
    """The render fails once inside its job (its temporary PDF cannot be written, as
    on a full disk) after the ARD changed; the previous report stays published; the
    cause is fixed and the same command run again rebuilds the report from the
    current ARD. Then the publish step fails once (its temporary HTML cannot be
    written): the previous PDF and HTML stay, and the next run publishes."""
    from cohorts import cohort_project, patient

    cohort = [patient("W1", "wAIHA", "responder", duration_months=4),
              patient("W2"), patient("C1", "cAIHA", "responder", ongoing=True)]
    work = cohort_project(tmp_path / "p", cohort)
    run_snakemake(work)
    report = work / "results" / "report"
    ard = work / "results" / "ard" / "ard.tsv"
    manifest = json.loads((report / "study_report.manifest.json").read_text())
    assert manifest["inputs"]["ard"]["sha256"] == _sha(ard)
    assert manifest["pdf"]["sha256"] == _sha(report / "study_report.pdf")
    before = {n: (report / n).read_bytes() for n in ("study_report.pdf", "study_report.html")}
    old_ard = _sha(ard)

    # New results: W2 becomes a responder (the ARD changes) ...
    spec = work / "resources" / "demo" / "test_cohort.yaml"
    cohort[1] = patient("W2", "wAIHA", "responder", duration_months=2)
    from cohorts import write_spec

    write_spec(spec, cohort)
    # ... and the render cannot write its PDF.
    block = report / "staging" / ".study_report.pdf.tmp"
    block.mkdir()
    failed = run_snakemake(work, check=False)
    assert failed.returncode != 0
    assert "Error in rule render_report" in failed.stdout + failed.stderr
    assert _sha(ard) != old_ard  # the results changed
    for name, data in before.items():  # the previous report stays in place
        assert (report / name).read_bytes() == data, name

    block.rmdir()  # the cause is fixed; the same command again
    again = run_snakemake(work)
    assert "Nothing to be done" not in again.stdout + again.stderr
    manifest = json.loads((report / "study_report.manifest.json").read_text())
    assert manifest["inputs"]["ard"]["sha256"] == _sha(ard)
    assert manifest["pdf"]["sha256"] == _sha(report / "study_report.pdf")
    assert (report / "study_report.pdf").read_bytes() != before["study_report.pdf"]
    assert _sha(ard) in (report / "study_report.html").read_text("utf-8")
    assert not list((work / "results").rglob(".*.tmp"))

    # A failing publish: the previous published files stay, the manifest goes, and
    # the next run publishes.
    current = {n: (report / n).read_bytes() for n in ("study_report.pdf", "study_report.html")}
    cohort[1] = patient("W2", "wAIHA", "responder", duration_months=3)
    write_spec(spec, cohort)
    block = report / ".study_report.html.tmp"
    block.mkdir()
    failed = run_snakemake(work, check=False)
    assert failed.returncode != 0
    assert "publish_report" in failed.stdout + failed.stderr
    for name, data in current.items():
        assert (report / name).read_bytes() == data, name
    assert not (report / "study_report.manifest.json").exists()
    block.rmdir()
    run_snakemake(work)
    manifest = json.loads((report / "study_report.manifest.json").read_text())
    assert manifest["inputs"]["ard"]["sha256"] == _sha(ard)
    assert manifest["pdf"]["sha256"] == _sha(report / "study_report.pdf")
    dry = run_snakemake(work, "-n")
    assert "Nothing to be done" in dry.stdout + dry.stderr


# ------------------------------------------------ bounded cost of the listings
def test_long_free_text_is_shortened_in_the_listings_only(tmp_path: Path):
    import pandas as pd

    from aiha.report.render import shorten_text_cells

    comment = "x" * 10_000
    frame = pd.DataFrame({"patient_id": ["P-1", "P-2"], "comment": [comment, "short"],
                          "day": [1, 2]})
    out = shorten_text_cells(frame, 500, "results/clinical/patients.tsv")
    assert out["comment"].iloc[0] == ("x" * 500 + "… [9500 more characters: full text in "
                                      "results/clinical/patients.tsv]")
    assert out["comment"].iloc[1] == "short" and list(out["day"]) == [1, 2]
    assert frame["comment"].iloc[0] == comment  # the table itself keeps the full text


def test_the_listings_text_limit_is_a_config_key_with_a_default():
    import yaml

    from conftest import ROOT

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "report.schema.yaml").read_text())
    key = schema["properties"]["listings_text_max_chars"]
    assert key["default"] == 500 and key["minimum"] == 20
    rules = (ROOT / "workflow" / "rules" / "report.smk").read_text()
    assert 'text_max_chars=config["report"]["listings_text_max_chars"]' in rules
