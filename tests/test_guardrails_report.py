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
        assert all(not page.annots for page in doc.pages)
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
