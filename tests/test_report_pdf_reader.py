"""The demo report read back as a reader would, with pdfplumber:

- every number in the tables of the clinical and cytometry chapters sits under an
  internal link (the first column, row labels, excepted; each number of a cell such
  as "4/6" or "(32–77)" under its own), and so does every reproduced value of the
  published-versus-reproduced table (labels such as "grade 3" and the level of a
  "95% CI" excepted),
  and every link goes to a row of Appendix D (the ARD rows);
- no snake_case identifier appears in the reader's text: only in code type (config keys,
  statistic ids, paths) and in the provenance appendices (B, D, E);
- the table of contents lists the headings the pages carry, with their page numbers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pdfplumber
import pytest

pytestmark = pytest.mark.workflow

# Colour of code type (resources/report/report.css, ``code``): #2f4f6f.
CODE_RGB = (0x2F / 255, 0x4F / 255, 0x6F / 255)
SNAKE = re.compile(r"[A-Za-z0-9]_[A-Za-z0-9]")
# A file named by its path (the gating file, the config in force): its name is the file's.
PATH = re.compile(r"^\(?[\w.-]*/[\w./-]*\.(?:ya?ml|xml|wsp|tsv|json|txt|csv|pdf)\)?[.,;:]?$")
CLINICAL_CHAPTERS = ("Patients", "Treatment exposure and transfusions", "Response", "Safety",
                     "Flow cytometry")
# A printed number: a word that starts with a digit (after a bracket or sign), not a
# name with digits in it such as "CD38+".
NUMBER = re.compile(r"^[(\u2212+\-]?\d")
PROVENANCE = ("Appendix B.", "Appendix D.", "Appendix E.")
AUDIT_CHAPTER = "Published versus reproduced"


def _is_code(char: dict) -> bool:
    color = char.get("non_stroking_color") or ()
    return len(color) == 3 and all(abs(a - b) < 0.01 for a, b in zip(color, CODE_RGB))


def _chapter(page: pdfplumber.page.Page) -> str:
    """The running header (top right): the chapter the page belongs to."""
    top = page.crop((page.width / 2, 0, page.width, 50)).extract_text() or ""
    return " ".join(top.split())


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def report(demo_results: Path) -> Path:
    return demo_results / "report/study_report.pdf"


def test_every_table_number_links_to_its_ard_row(report: Path) -> None:
    html = (report.with_suffix(".html")).read_text(encoding="utf-8")
    appendix = html[html.index('id="appendix-d"'):]
    row_ids = set(re.findall(r'<tr id="(ard-[0-9a-f]+)"', appendix))
    assert row_ids
    checked = 0
    with pdfplumber.open(report) as pdf:
        for page in pdf.pages:
            links = [a for a in page.annots if a["data"].get("Subtype") is not None]
            dests = [a["data"].get("Dest") for a in links]
            for dest in dests:
                name = dest.decode() if isinstance(dest, bytes) else str(dest)
                if name.startswith("ard-"):
                    assert name in row_ids, f"page {page.page_number}: link to {name}"
            audit = _chapter(page).endswith(AUDIT_CHAPTER)
            if not audit and not any(_chapter(page).endswith(c) for c in CLINICAL_CHAPTERS):
                continue
            rects = [(a["x0"], a["top"], a["x1"], a["bottom"]) for a in links]
            for table in page.find_tables():
                for row in table.rows:
                    # The audit table: the reproduced value (the published one and the
                    # definition's configured thresholds are not ARD rows).
                    for cell in (row.cells[2:3] if audit else row.cells[1:]):
                        if cell is None:
                            continue
                        words = page.crop(cell).extract_words(return_chars=True)
                        for k, w in enumerate(words):
                            if not NUMBER.match(w["text"]):
                                continue
                            # Labels, not values: "grade 3", the level of "95% CI".
                            before = words[k - 1]["text"] if k else ""
                            after = words[k + 1]["text"] if k + 1 < len(words) else ""
                            if before.lower() == "grade" or after.startswith("CI"):
                                continue
                            # Each number of the word ("4/6", "(32–77)") has its link:
                            # the first digit of each run of digits sits inside one.
                            chars = w["chars"]
                            for i, ch in enumerate(chars):
                                if not ch["text"].isdigit() or (
                                        i and (chars[i - 1]["text"].isdigit()
                                               or chars[i - 1]["text"] in ".,")):
                                    continue
                                cx = (ch["x0"] + ch["x1"]) / 2
                                cy = (ch["top"] + ch["bottom"]) / 2
                                assert any(x0 - 1 <= cx <= x1 + 1 and y0 - 1 <= cy <= y1 + 1
                                           for x0, y0, x1, y1 in rects), \
                                    f"page {page.page_number}: {w['text']!r} has no link"
                            checked += 1
    assert checked > 50


def test_no_snake_case_in_the_readers_text(report: Path) -> None:
    found = []
    with pdfplumber.open(report) as pdf:
        for page in pdf.pages:
            if any(p in _chapter(page) for p in PROVENANCE):
                continue
            words = page.extract_words(extra_attrs=["non_stroking_color"], keep_blank_chars=False,
                                       return_chars=True)
            for w in words:
                if SNAKE.search(w["text"]) and not PATH.match(w["text"]) \
                        and not all(_is_code(c) for c in w["chars"]):
                    found.append((page.page_number, w["text"]))
    assert not found, found


def test_table_of_contents_matches_the_headings(report: Path) -> None:
    with pdfplumber.open(report) as pdf:
        toc = pdf.pages[1].extract_text() or ""
        assert "Contents" in toc
        entries = re.findall(r"^((?:\d+\.|Appendix [A-Z]\.)\s+.+?)\s*\.{3,}\s*(\d+)$", toc,
                             re.M)
        assert len(entries) >= 8
        for heading, number in entries:
            page = pdf.pages[int(number) - 1]
            text = page.extract_text() or ""
            body = text.split("\n", 1)[1] if "\n" in text else text
            assert _norm(heading) in _norm(body), (heading, number)
        # And every chapter heading (12 pt) of the document is in the contents.
        listed = {_norm(h) for h, _ in entries}
        headings = set()
        for page in pdf.pages[2:]:
            big = page.filter(lambda o: o.get("object_type") != "char" or o["size"] > 11.5)
            for line in (big.extract_text() or "").split("\n"):
                if line.strip():
                    headings.add(_norm(line))
        assert headings and headings <= listed, headings - listed


def _table_fragments(path: Path) -> list[tuple[int, tuple[str, ...], int]]:
    """(page, header, data rows) of every table piece pdfplumber finds."""
    out = []
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            for t in page.extract_tables():
                if t and any(_norm(c or "") for c in t[0]):
                    out.append((page.page_number, tuple(_norm(c or "") for c in t[0]),
                                len(t) - 1))
    return out


@pytest.mark.parametrize("name", ["study_report.pdf", "study_listings.pdf"])
def test_a_table_split_across_pages_keeps_two_rows_on_each(demo_results: Path,
                                                           name: str) -> None:
    """No orphan row: a table that runs onto the next page (its header repeated there)
    leaves at least two data rows on each page."""
    pieces = _table_fragments(demo_results / "report" / name)
    split = 0
    for i, (page, header, rows) in enumerate(pieces):
        before = i > 0 and pieces[i - 1][1] == header and pieces[i - 1][0] == page - 1
        after = (i + 1 < len(pieces) and pieces[i + 1][1] == header
                 and pieces[i + 1][0] == page + 1)
        if before or after:
            split += 1
            assert rows >= 2, f"{name} page {page}: {rows} row of a table split across pages"
    assert split > 0  # the check saw split tables (Appendix D, the listings)
