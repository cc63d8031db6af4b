"""Report security: the URL fetcher, escaping of free text, nothing attached or fetched."""

from __future__ import annotations

import http.server
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urljoin

import pdfplumber
import pytest
import yaml
from weasyprint.urls import FatalURLFetchingError

from aiha.report import ASSET_BASE_URL, AssetURLFetcher, build_from_results, jinja_env, render_pdf

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests/data/report/results"
PAYLOADS = [
    '<link rel="attachment" href="file:///etc/passwd">',
    '<img src="http://127.0.0.1:9/x">',
    '<style>td::after{content:"99.9"}</style>',
]


@pytest.fixture()
def assets(tmp_path: Path) -> Path:
    d = tmp_path / "assets"
    (d / "figures").mkdir(parents=True)
    (d / "report.css").write_text("body { color: black; }", encoding="utf-8")
    (d / "figures" / "a.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        '<rect width="10" height="10"/></svg>', encoding="utf-8")
    (tmp_path / "secret.txt").write_text("secret", encoding="utf-8")
    return d


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        urljoin(ASSET_BASE_URL, "../../etc/passwd"),
        "file:///report/../../etc/passwd",
        "file:///report/%2e%2e/%2e%2e/etc/passwd",
        "file:///report/figures/../../secret.txt",
        "file:///report/",
        "file:///report/missing.css",
        "file://host/report/report.css",
        "http://127.0.0.1/",
        "http://127.0.0.1:9/x",
        "https://example.org/report.css",
        "data:text/html,<b>x</b>",
        "data:text/css,td::after{content:'99.9'}",
        "ftp://127.0.0.1/x",
    ],
)
def test_fetcher_refuses(assets: Path, url: str) -> None:
    fetcher = AssetURLFetcher(assets)
    with pytest.raises(FatalURLFetchingError):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_fetcher_refuses_symlink_out_of_assets(assets: Path) -> None:
    (assets / "link.css").symlink_to("/etc/passwd")
    with pytest.raises(FatalURLFetchingError):
        AssetURLFetcher(assets).fetch("file:///report/link.css")


def test_fetcher_serves_assets(assets: Path) -> None:
    fetcher = AssetURLFetcher(assets)
    css = fetcher.fetch("file:///report/report.css")
    assert css.read() == b"body { color: black; }"
    assert css.content_type == "text/css"
    svg = fetcher.fetch(urljoin(ASSET_BASE_URL, "figures/a.svg"))
    assert svg.content_type == "image/svg+xml"
    png = fetcher.fetch("data:image/png;base64,iVBORw0KGgo=")
    assert png.read() == b"\x89PNG\r\n\x1a\n"


def test_refusal_stops_the_render(assets: Path, tmp_path: Path) -> None:
    """A trusted template asking for a forbidden URL fails the render (fatal)."""
    for html in ('<p>x</p><img src="file:///etc/passwd">',
                 '<link rel="stylesheet" href="../../etc/passwd"><p>x</p>',
                 '<style>@import url("http://127.0.0.1:9/x.css");</style><p>x</p>'):
        with pytest.raises(FatalURLFetchingError):
            render_pdf(html, assets, tmp_path / "x.pdf", 0, "0" * 32)


def test_autoescape_is_on_for_j2() -> None:
    env = jinja_env(ROOT / "resources/report")
    out = env.from_string("<td>{{ x }}</td>").render(x=PAYLOADS[2])
    assert "<style>" not in out and "&lt;style&gt;" in out
    tmpl = env.get_template("_macros.html.j2")
    assert tmpl.environment.autoescape is True


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        type(self).hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"body{color:red}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def http_server():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture()
def injected_report(tmp_path: Path, http_server) -> tuple[Path, dict]:
    """The fixture report with payloads in a patient comment, an AE description and
    a lab comment, one of them pointing at a live local HTTP server."""
    port = http_server.server_address[1]
    live = (f'<img src="http://127.0.0.1:{port}/img"> <link rel="stylesheet" '
            f'href="http://127.0.0.1:{port}/x.css"> <a href="file:///etc/passwd">link</a>')
    results = tmp_path / "results"
    shutil.copytree(FIXTURE, results)
    labs = (results / "clinical/labs.tsv").read_text(encoding="utf-8")
    labs = labs.replace("haemolysed sample", live.replace("\t", " ") + " haemolysed sample")
    (results / "clinical/labs.tsv").write_text(labs, encoding="utf-8")
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    out = build_from_results(results, cfg, tmp_path / "out", ROOT)
    return tmp_path / "out" / "study_report.pdf", out


def test_injection_is_inert(injected_report: tuple[Path, dict]) -> None:
    report_path, report = injected_report
    # Free text is printed in the listings document; both documents are checked.
    pdf_path, out = report_path.with_name("study_listings.pdf"), report["listings"]
    for path, built in ((report_path, report), (pdf_path, out)):
        data = path.read_bytes()
        # Nothing attached, no external link annotation, no foreign fetch, no request.
        assert b"/EmbeddedFile" not in data and b"/Filespec" not in data
        assert b"/URI" not in data and b"/Launch" not in data
        assert b"root:" not in data
        assert all(u.startswith(ASSET_BASE_URL) or u.startswith("data:image/")
                   for u in built["served"]), built["served"]
        assert built["refused"] == []
    assert _Recorder.hits == []
    # The payloads are escaped in the HTML ...
    html = out["html"]
    for payload in PAYLOADS:
        assert payload not in html
        assert payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
            .replace('"', "&#34;") in html
    # ... and printed as literal text in the PDF.
    with pdfplumber.open(pdf_path) as pdf:
        text = "".join(re.sub(r"\s+", "", page.extract_text() or "") for page in pdf.pages)
        cells = [c for page in pdf.pages for t in page.extract_tables() for r in t for c in r
                 if c]
    for payload in PAYLOADS:
        assert re.sub(r"\s+", "", payload) in text, payload
    # "99.9" appears only inside the literal payload: no cell was restyled.
    assert text.count("99.9") == text.count('content:"99.9"')
    assert not any(re.sub(r"\s+", "", c).endswith("99.9") and "content" not in c for c in cells)
