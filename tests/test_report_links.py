"""Every printed number one click from the row that holds it, read back from the PDFs
with pdfplumber as a reader would click:

- every link annotation of both PDFs (study_report.pdf, study_listings.pdf) whose
  named destination is a row of an appendix of rows (Appendix D of the report, the
  table of each patient's ARD rows of the listings) is followed: the number printed
  under the link (the characters inside the link rectangle) must be the value of the
  row it lands on (the row's "Value" cell, read back from the page the destination
  names), compared numerically with the printed rounding; a percentage may land on
  its proportion; a number of the methods that comes from the configuration lands on
  the row of its key in Table B6 (the configuration in force), whose "Value" cell
  prints the value as configured: the printed number must be one of that cell's
  numbers, with the printed rounding ("Hb 2\u201325 g/dL" from [2.0, 25.0], "95%"
  from 0.95);
- the numbers printed in the whole body of the report (before the appendices, the
  Methods included) are counted, in links and outside them, and at least 90% are
  linked (headings, table, figure and
  section labels, dates, names such as CD38 or SHA-256, the contents page and the
  running header and footer are not numbers of the body);
- the checking function fails on a planted wrong link (synthetic characters, links
  and rows: no PDF needed).

The figure measured is printed (``-s``) and written to the test report (``-rP``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pdfplumber
import pytest
from pdfminer.pdftypes import resolve1

# A printed number inside a word: sign (not a hyphen between numbers), digits with
# thousands commas, decimals, percent. Digits glued to letters (CD38, 9a, v5) or after
# "letters-" (SHA-256) are names. Written here independently of aiha.report.model.
TOKEN = re.compile(r"(?<![\w.,])(?:(?<![\w])[+\u2212-])?(?<![A-Za-z]-)(\d{1,3}(?:,\d{3})+|\d+)"
                   r"(?:\.(\d+))?(?!\w|\.\d)(%)?")
# Dates, and the references of citations: years ("Blood Adv 2024"), volume, issue and
# pages ("2024;8(11):2622-2634"), DOIs.
DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\b(?:19|20)\d{2}(?:;[\d():\-\u2013]+)?(?!\d)|doi:\S+")
# Labels: "Table 4", "Figure 1", "Listing 2", "Appendix D", "grade 3", "version 5",
# "Tables 9a and 9b", the level of a "95% CI" (a label of the interval).
LABEL_BEFORE = re.compile(r"(?:Tables?|Figures?|Listings?|Appendix|[Gg]rade|version|Page)"
                          r"\s*$")
# Destinations that are rows of an appendix of rows (Appendix D: ARD rows; Table D2:
# published values, key statistics, sensitivity counts and claims, FlowJo reconciliation,
# the cleaning actions by kind, the R QC summary of Table C1, the second library of Table C2;
# Table B6: the configuration in force, a row per key) and those that are not (back links to tables, the contents' chapters): any other
# destination fails the check, so that a new kind of row cannot escape it.
ROW_PREFIXES = ("ard-", "pub-", "ks-", "sens-", "sc-", "recon-", "cfg-", "clean-", "qc2-", "rqc-")
OTHER_DEST = re.compile(r"^(?:tbl-[A-Za-z0-9_]+|[a-z]+(?:-[a-z])?)$")
MIN_LINKED_SHARE = 0.90


# --------------------------------------------------------------------------- parsing
@dataclass(frozen=True)
class Printed:
    """A number as printed: its value and decimals."""

    value: float
    decimals: int
    percent: bool


def parse_numbers(text: str) -> list[Printed]:
    """The numbers in ``text`` (dates and labels are not numbers)."""
    text = DATE.sub(" ", text)
    out = []
    for m in TOKEN.finditer(text):
        if LABEL_BEFORE.search(text[:m.start()]) and not m.group(0)[0] in "+-\u2212":
            continue
        if m.group(3) and re.match(r"\s*CI\b", text[m.end():]):
            continue
        sign = -1.0 if m.group(0)[0] in "-\u2212" else 1.0
        digits = m.group(1).replace(",", "")
        decimals = m.group(2) or ""
        out.append(Printed(sign * float(f"{digits}.{decimals}" if decimals else digits),
                           len(decimals), bool(m.group(3))))
    return out


def holds(printed: Printed, row_values: Sequence[Printed | float],
          proportions: bool = True) -> bool:
    """Whether a row whose value cell holds ``row_values`` holds the printed number:
    some value that rounds to the printed number with its decimals, as the value or as
    a percentage (a proportion, or the bound of a percentage's CI; only when
    ``proportions``), lies within the rounding of the row's own printed value (a
    float: exact)."""
    half = 0.5 * 10.0 ** -printed.decimals + 1e-9
    for v in row_values:
        value, slack = (v.value, 0.5 * 10.0 ** -v.decimals) if isinstance(v, Printed) \
            else (float(v), 0.0)
        for scale in ((1.0, 100.0) if proportions else (1.0,)):
            lo, hi = (value - slack) * scale, (value + slack) * scale
            if math.isfinite(value) and lo <= printed.value + half and \
                    hi >= printed.value - half:
                return True
    return False


# --------------------------------------------------------------------------- checking
@dataclass(frozen=True)
class Link:
    """A link as a reader sees it: where it sits, what it names, what is printed under it."""

    document: str
    page: int
    dest: str
    text: str


def check_links(links: Iterable[Link],
                rows: Mapping[tuple[str, str], Sequence[Printed | float] | None]
                ) -> tuple[int, list[str]]:
    """Follow each link to a row (``rows``: (document, destination) -> the numbers of the
    row's value cell, ``None`` when the destination is no row) and check the row holds
    the number printed under the link. Returns (links checked, problems)."""
    problems, checked = [], 0
    for link in links:
        if not link.dest.startswith(ROW_PREFIXES):
            if not OTHER_DEST.match(link.dest):
                problems.append(f"{link.document} page {link.page}: link to {link.dest}, "
                                "neither a row nor a table or chapter")
            continue
        where = f"{link.document} page {link.page}: {link.text!r} -> {link.dest}"
        values = rows.get((link.document, link.dest))
        if values is None:
            problems.append(f"{where}: lands on no row")
            continue
        printed = parse_numbers(link.text)
        if len(printed) != 1:
            problems.append(f"{where}: not one number under the link")
            continue
        checked += 1
        # A row of Table B6 prints the value as configured (exact, not rounded); a
        # proportion of the configuration (ci_level 0.95) prints only as a percentage.
        proportions = printed[0].percent or not link.dest.startswith("cfg-")
        if link.dest.startswith("cfg-"):
            values = [getattr(v, "value", v) for v in values]
        if not holds(printed[0], values, proportions):
            problems.append(f"{where}: the row holds "
                            f"{[getattr(v, 'value', v) for v in values]}")
    return checked, problems


# --------------------------------------------------------------------------- reading
def _center_in(obj: Mapping, rect: tuple[float, float, float, float], slack: float = 0.5) -> bool:
    cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
    x0, top, x1, bottom = rect
    return x0 - slack <= cx <= x1 + slack and top - slack <= cy <= bottom + slack


def _dest_name(annot: Mapping) -> str:
    dest = annot["data"].get("Dest")
    if isinstance(dest, bytes):
        return dest.decode("latin-1")
    return str(dest) if dest is not None else ""


def _link_rects(page: pdfplumber.page.Page) -> list[tuple[str, tuple[float, float, float, float]]]:
    return [(_dest_name(a), (a["x0"], a["top"], a["x1"], a["bottom"])) for a in page.annots
            if a["data"].get("Subtype") is not None and _dest_name(a)]


def read_links(pdf: pdfplumber.PDF, document: str) -> list[Link]:
    """Every internal link of ``pdf`` with the characters printed inside its rectangle."""
    out = []
    for page in pdf.pages:
        for dest, rect in _link_rects(page):
            chars = sorted((c for c in page.chars if _center_in(c, rect)),
                           key=lambda c: (round(c["top"]), c["x0"]))
            out.append(Link(document, page.page_number, dest,
                            "".join(c["text"] for c in chars).strip()))
    return out


def destinations(pdf: pdfplumber.PDF) -> dict[str, tuple[int, float]]:
    """Named destination -> (page index, top in pdfplumber's coordinates)."""
    names = resolve1(resolve1(pdf.doc.catalog["Names"])["Dests"])
    pages = {p.page_obj.pageid: i for i, p in enumerate(pdf.pages)}

    def leaves(node: Mapping) -> Iterable[tuple[bytes, list]]:
        if "Names" in node:
            flat = resolve1(node["Names"])
            yield from zip(flat[::2], (resolve1(d) for d in flat[1::2]))
        for kid in resolve1(node.get("Kids", [])):
            yield from leaves(resolve1(kid))

    out = {}
    for name, dest in leaves(names):
        dest = resolve1(dest)
        if isinstance(dest, Mapping):
            dest = resolve1(dest["D"])
        index = pages[dest[0].objid]
        out[name.decode("latin-1") if isinstance(name, bytes) else str(name)] = (
            index, pdf.pages[index].height - float(dest[3]))
    return out


def _value_column(table: pdfplumber.table.Table, page: pdfplumber.page.Page) -> int | None:
    header = table.rows[0]
    for j, cell in enumerate(header.cells):
        if cell is not None and (page.crop(cell).extract_text() or "").strip() == "Value":
            return j
    return None


def row_values(pdf: pdfplumber.PDF, document: str, wanted: Iterable[str]
               ) -> dict[tuple[str, str], list[Printed] | None]:
    """(document, destination) -> the numbers of the "Value" cell of the table row the
    destination lands on (the row whose top is the destination's), None if no row."""
    dests = destinations(pdf)
    by_page: dict[int, list[tuple[str, float]]] = {}
    for name in set(wanted):
        if name in dests:
            by_page.setdefault(dests[name][0], []).append((name, dests[name][1]))
    out: dict[tuple[str, str], list[Printed] | None] = {(document, n): None for n in wanted}
    for index, names in by_page.items():
        page = pdf.pages[index]
        for table in page.find_tables():
            column = _value_column(table, page)
            if column is None:
                continue
            for row in table.rows[1:]:
                cell = row.cells[column]
                for name, top in names:
                    if cell is not None and abs(row.bbox[1] - top) < 2.0:
                        text = page.crop(cell).extract_text() or ""
                        out[(document, name)] = parse_numbers(text)
    return out


def _chapter(page: pdfplumber.page.Page) -> str:
    top = page.crop((page.width / 2, 0, page.width, 50)).extract_text() or ""
    return " ".join(top.split())


@dataclass
class Count:
    """Numbers of the body: how many, how many under a link, the others (page: text)."""

    linked: int = 0
    total: int = 0
    unlinked: list[str] | None = None

    @property
    def share(self) -> float:
        return self.linked / self.total if self.total else 1.0


def body_numbers(pdf: pdfplumber.PDF) -> dict[str, Count]:
    """The numbers printed in the body of the report (the pages before the first
    appendix, without the contents page, running header and footer, headings above
    9 pt, labels, dates and references), by chapter (the running header), each
    counted as linked when its first digit sits inside a link rectangle."""
    out: dict[str, Count] = {}
    for page in pdf.pages:
        chapter = _chapter(page)
        if re.search(r"\bAppendix [A-Z]\.", chapter):
            break
        if chapter.endswith("Contents"):
            continue
        count = out.setdefault(chapter, Count(unlinked=[]))
        rects = [r for _, r in _link_rects(page)]
        body = page.crop((0, 50, page.width, page.height - 40)).filter(
            lambda o: o.get("object_type") != "char" or o["size"] <= 9.0)
        for line in body.extract_text_lines(return_chars=True):
            text = line["text"]
            # extract_text_lines gives one char per printed character (spaces aside).
            at = dict(zip((i for i, ch in enumerate(text) if not ch.isspace()),
                          (c for c in line["chars"] if not c["text"].isspace())))
            clean = DATE.sub(lambda m: " " * len(m.group(0)), text)
            for m in TOKEN.finditer(clean):
                if LABEL_BEFORE.search(clean[:m.start()]) and m.group(0)[0] not in "+-\u2212":
                    continue
                if m.group(3) and re.match(r"\s*CI\b", clean[m.end():]):
                    continue
                char = at.get(m.start(1))
                count.total += 1
                if char is not None and any(_center_in(char, r) for r in rects):
                    count.linked += 1
                else:
                    count.unlinked.append(f"p{page.page_number}: {m.group(0)} in {text[:70]!r}")
    return out


# --------------------------------------------------------------------------- unit tests
def test_the_check_fails_on_a_planted_wrong_link() -> None:
    rows = {("r", "ard-num"): [4.0], ("r", "ard-den"): [6.0], ("r", "ard-prop"): [0.666667],
            ("r", "ard-total"): [7.0], ("r", "ard-g3"): [3.0]}
    right = [Link("r", 1, "ard-num", "4"), Link("r", 1, "ard-den", "6"),
             Link("r", 1, "ard-prop", "66.7%"), Link("r", 1, "ard-g3", "3"),
             Link("r", 1, "tbl-x", "Table 4"),  # a back link: not a row, not checked
             Link("r", 1, "appendix-d", "Appendix D")]  # a chapter of the contents
    assert check_links(right, rows) == (4, [])
    # A destination of an unknown kind is not skipped silently.
    assert check_links([Link("r", 1, "row-1234", "7")], rows)[1]
    # The old fault: every part of "4/6 (66.7%)" landing on the denominator row.
    wrong = [Link("r", 1, "ard-den", "4"), Link("r", 1, "ard-den", "66.7%")]
    checked, problems = check_links(wrong, rows)
    assert checked == 2 and len(problems) == 2
    # "3 grade 3" sent to the total; a destination that is no row.
    checked, problems = check_links([Link("r", 2, "ard-total", "3"),
                                     Link("r", 2, "ard-gone", "3")], rows)
    assert len(problems) == 2 and "lands on no row" in problems[1]


def test_a_configured_number_lands_on_the_row_of_its_key() -> None:
    # Rows of Table B6 as printed: the "Value" cell of the key, as configured.
    rows = {("r", "cfg-cleaning-hard_limits-hb_g_dl"): parse_numbers("[2, 25]"),
            ("r", "cfg-statistics-ci_level"): parse_numbers("0.95"),
            ("r", "cfg-report-transfusion_windows_days"): parse_numbers(
                "[[\u221284, \u22121], [0, 83], [84, 167]]"),
            ("r", "cfg-response-days_per_month"): parse_numbers("30.4375")}
    right = [Link("r", 4, "cfg-cleaning-hard_limits-hb_g_dl", "2"),
             Link("r", 4, "cfg-cleaning-hard_limits-hb_g_dl", "25"),
             Link("r", 4, "cfg-statistics-ci_level", "95%"),
             Link("r", 4, "cfg-report-transfusion_windows_days", "\u221284"),
             Link("r", 4, "cfg-report-transfusion_windows_days", "167"),
             Link("r", 4, "cfg-response-days_per_month", "30.4375"),
             Link("r", 4, "cfg-response-days_per_month", "30.4")]  # printed rounded
    assert check_links(right, rows) == (7, [])
    # A number the row does not hold, a level printed without its percent sign, a
    # lost sign, a number sent to another key's row.
    wrong = [Link("r", 4, "cfg-cleaning-hard_limits-hb_g_dl", "12"),
             Link("r", 4, "cfg-statistics-ci_level", "95"),
             Link("r", 4, "cfg-report-transfusion_windows_days", "1"),
             Link("r", 4, "cfg-response-days_per_month", "30.5"),
             Link("r", 4, "cfg-statistics-ci_level", "25")]
    checked, problems = check_links(wrong, rows)
    assert checked == 5 and len(problems) == 5, problems


def test_numbers_compare_with_the_printed_rounding() -> None:
    assert holds(parse_numbers("66.7%")[0], [0.666667])  # a percentage on its proportion
    assert holds(parse_numbers("22.3")[0], [0.223])  # a CI bound of a percentage
    assert not holds(parse_numbers("66.8%")[0], [0.666667])
    assert holds(parse_numbers("2.5")[0], [2.54])
    assert not holds(parse_numbers("2.5")[0], [2.56])
    assert holds(parse_numbers("\u221284")[0], [-84.0])
    assert holds(parse_numbers("1,800")[0], [1800.0])
    assert [p.value for p in parse_numbers("2-12 months")] == [2.0, 12.0]
    # Labels, names and dates are not numbers.
    assert parse_numbers("CD38+ of CD3+, SHA-256, Table 4, grade 3, 2024-01-31, 9a") == []
    assert [p.value for p in parse_numbers("4/6 (66.7%); 95% CI 22.3\u201395.7")] == [
        4.0, 6.0, 66.7, 22.3, 95.7]


# --------------------------------------------------------------------------- the PDFs


def _check_document(path: Path, document: str) -> tuple[int, list[str]]:
    with pdfplumber.open(path) as pdf:
        links = read_links(pdf, document)
        wanted = [l.dest for l in links if l.dest.startswith(ROW_PREFIXES)]
        rows = row_values(pdf, document, wanted)
    return check_links(links, rows)


@pytest.mark.workflow
@pytest.mark.parametrize("name", ["study_report.pdf", "study_listings.pdf"])
def test_every_link_lands_on_the_row_that_holds_its_number(demo_results: Path,
                                                           name: str) -> None:
    checked, problems = _check_document(demo_results / "report" / name, name)
    print(f"{name}: {checked} links to rows checked, {len(problems)} wrong")
    assert not problems, "\n".join(problems[:30])
    assert checked >= (300 if name == "study_report.pdf" else 20)


@pytest.mark.workflow
def test_nine_in_ten_numbers_of_the_body_are_linked(demo_results: Path) -> None:
    """The whole body, the Methods included (their numbers from the configuration link
    to Table B6; checked by the test above)."""
    with pdfplumber.open(demo_results / "report/study_report.pdf") as pdf:
        chapters = body_numbers(pdf)
    body = Count(sum(c.linked for c in chapters.values()),
                 sum(c.total for c in chapters.values()),
                 [u for c in chapters.values() for u in c.unlinked])
    print(f"body of study_report.pdf: {body.linked} of {body.total} numbers linked "
          f"({body.share:.1%})")
    for name, c in chapters.items():
        print(f"  {name}: {c.linked} of {c.total}")
    print("\n".join(body.unlinked))
    assert body.total > 300
    assert any(name.endswith("Methods") and c.linked for name, c in chapters.items())
    assert body.share >= MIN_LINKED_SHARE, "\n".join(body.unlinked)
