"""Every table cell of both PDFs read back and traced to the results-table row it
comes from.

With pdfplumber, every table of study_report.pdf and study_listings.pdf is read cell
by cell with the links inside each cell; each link to an ARD row names that row
(the destination is ``ard-`` + the first 16 hex digits of the SHA-256 of
``stat_id \\x1f group \\x1f statistic``, recomputed here for every ARD row). Then:

- a column headed by an analysis group ("wAIHA (n = 12)", "cAIHA (anemic)",
  "cAIHA (non-anemic)", "All treated") links only to rows of that group, and its
  header's n is the group's ``n_treated``;
- a row whose label is a patient's pseudonym links only to rows of that patient;
- across the group columns of one row the linked statistics are the same (they
  differ by group only; a zero count prints without its percentage, an undefined
  value such as a median not reached without a link): no cell
  prints another row's numbers;
- no two rows of a table link the same statistics;
- the rows of the grade table and of the AE-by-term table name the statistic they
  link ("Grade 3" -> ``grade_3``; a term's rows -> ``<term>: ...``).

That the number printed under each link is the value of the row it lands on is
tests/test_report_links.py; that every number of the body is linked is
tests/test_report_pdf_reader.py.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pdfplumber
import pytest

from test_report_links import _center_in, _link_rects

pytestmark = pytest.mark.workflow

PSEUDONYM = re.compile(r"^PT-[0-9A-F]{16}$")


def group_of_header(text: str) -> str | None:
    """The analysis group a column header names (written here, not the report's)."""
    t = " ".join(text.split()).replace("non- anemic", "non-anemic")
    if t.startswith("wAIHA"):
        return "wAIHA"
    if t.startswith("cAIHA (non-anemic)"):
        return "cAIHA_nonanemic"
    if t.startswith("cAIHA"):
        return "cAIHA"
    if t.startswith("All treated"):
        return "all"
    return None


@dataclass
class Cell:
    text: str
    keys: list[tuple[str, str, str]] = field(default_factory=list)
    other: list[str] = field(default_factory=list)  # links to rows of other tables


@dataclass
class Table:
    document: str
    page: int
    header: list[str]
    rows: list[list[Cell]]


def ard_anchors(ard: pd.DataFrame) -> dict[str, tuple[str, str, str]]:
    out = {}
    for key in ard[["stat_id", "group", "statistic"]].itertuples(index=False, name=None):
        digest = hashlib.sha256("\x1f".join(key).encode("utf-8")).hexdigest()[:16]
        out[f"ard-{digest}"] = key
    return out


def read_tables(path: Path, anchors: dict[str, tuple[str, str, str]]) -> list[Table]:
    out = []
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            rects = _link_rects(page)
            for found in page.find_tables():
                rows = []
                for row in found.rows:
                    cells = []
                    for box in row.cells:
                        if box is None:
                            cells.append(Cell(""))
                            continue
                        cell = Cell(" ".join((page.crop(box).extract_text() or "").split()))
                        for dest, r in rects:
                            centre = {"x0": r[0], "x1": r[2], "top": r[1], "bottom": r[3]}
                            if _center_in(centre, box, 0):
                                if dest in anchors:
                                    cell.keys.append(anchors[dest])
                                else:
                                    cell.other.append(dest)
                        cells.append(cell)
                    rows.append(cells)
                if rows and any(c.text for c in rows[0]):
                    out.append(Table(path.name, page.page_number, [c.text for c in rows[0]],
                                     rows[1:]))
    return out


@pytest.fixture(scope="module")
def tables(demo_results: Path) -> tuple[list[Table], pd.DataFrame]:
    ard = pd.read_csv(demo_results / "ard" / "ard.tsv", sep="\t", dtype=str,
                      keep_default_na=False)
    anchors = ard_anchors(ard)
    found = []
    for name in ("study_report.pdf", "study_listings.pdf"):
        found += read_tables(demo_results / "report" / name, anchors)
    return found, ard


def _where(t: Table, label: str) -> str:
    return f"{t.document} p{t.page} [{t.header[0]!r}] row {label!r}"


def trace_problems(found: list[Table], ard: pd.DataFrame) -> tuple[list[str], int, int]:
    """(problems, tables with group columns, cells with ARD links) of the checks of the
    module docstring."""
    n_treated = {r.group: float(r.value) for r in ard[ard["stat_id"] == "n_treated"].itertuples()}
    problems: list[str] = []
    checked_cells = group_tables = 0
    for t in found:
        groups = [group_of_header(h) for h in t.header]
        if any(groups[1:]):
            group_tables += 1
            for h, g in zip(t.header, groups):
                m = re.search(r"\(n\s*=\s*([\d,]+)\)", h)
                if g and m and float(m.group(1).replace(",", "")) != n_treated[g]:
                    problems.append(f"{t.document} p{t.page}: header {h!r} but n_treated "
                                    f"{n_treated[g]:g}")
        seen: dict[tuple, str] = {}
        for row in t.rows:
            label = row[0].text if row else ""
            shape = []
            for j, cell in enumerate(row[1:], start=1):
                if not cell.keys:
                    continue
                checked_cells += 1
                g = groups[j] if j < len(groups) else None
                if g and any(k[1] != g for k in cell.keys):
                    problems.append(f"{_where(t, label)} column {t.header[j]!r} links "
                                    f"{[k for k in cell.keys if k[1] != g]}")
                if PSEUDONYM.match(label) and any(k[1] != label for k in cell.keys):
                    problems.append(f"{_where(t, label)} links another patient's rows "
                                    f"{[k for k in cell.keys if k[1] != label]}")
                if g:  # a zero prints without its percentage: compare the counts
                    shape.append((j, tuple((k[0], k[2]) for k in cell.keys
                                           if not k[2].endswith("proportion"))))
            # Across the group columns: the same statistics, another group (an
            # undefined value, "not reached", prints unlinked: one may lack a part).
            sets = [set(s) for _, s in shape]
            if any(not (a <= b or b <= a) for a in sets for b in sets):
                problems.append(f"{_where(t, label)}: the group columns link different "
                                f"statistics {shape}")
            linked = tuple(sorted({k for c in row[1:] for k in c.keys}))
            if linked:
                if linked in seen and seen[linked] != label:
                    problems.append(f"{_where(t, label)} links the same rows as "
                                    f"{seen[linked]!r}: {list(linked)[:3]}")
                seen.setdefault(linked, label)
    return problems, group_tables, checked_cells


def test_every_table_cell_traces_to_its_row(tables) -> None:
    problems, group_tables, checked_cells = trace_problems(*tables)
    print(f"{checked_cells} linked cells in {group_tables} tables by group traced")
    assert not problems, "\n".join(problems[:30])
    assert group_tables >= 5 and checked_cells >= 300, (group_tables, checked_cells)


def test_grade_and_term_rows_name_the_statistic_they_link(tables) -> None:
    found, _ = tables
    problems: list[str] = []
    grade_rows = term_rows = 0
    term = None  # carried across pages: a table continued on the next page repeats its header
    for t in found:
        if t.header[0] == "Worst CTCAE grade":
            for row in t.rows:
                m = re.fullmatch(r"Grade (\d)", row[0].text)
                for cell in row[1:]:
                    for k in cell.keys:
                        grade_rows += 1
                        want = f"grade_{m.group(1)}" if m else None
                        if k[0] == "ae_grade" and k[2] != want:
                            problems.append(f"{_where(t, row[0].text)} links {k}")
        if t.header[0] == "Term":
            for row in t.rows:
                label = row[0].text
                if label.endswith(", any grade"):
                    term = label[: -len(", any grade")]
                for cell in row[1:]:
                    for k in cell.keys:
                        term_rows += 1
                        if k[0] == "ae_term" and not k[2].startswith(f"{term}: "):
                            problems.append(f"{_where(t, label)} (term {term!r}) links {k}")
                        part = ("any grade" if label.endswith(", any grade")
                                else label.removeprefix("worst "))
                        if k[0] == "ae_term" and part not in k[2]:
                            problems.append(f"{_where(t, label)} links {k}")
    assert grade_rows >= 5 and term_rows >= 10, (grade_rows, term_rows)
    assert not problems, "\n".join(problems[:30])


def test_the_check_fails_on_a_row_printing_another_rows_numbers(tables) -> None:
    """The checks above on a copy of the tables with one cell's links swapped for
    those of the row below (the kind of bug they are for)."""
    import copy

    found, ard = tables
    target = next(t for t in found if t.header[0] == "Worst CTCAE grade")
    assert not trace_problems([target], ard)[0]
    # One cell of row 1 printing row 2's numbers.
    broken = copy.deepcopy(target)
    broken.rows[0][1].keys = list(broken.rows[1][1].keys)
    problems = trace_problems([broken], ard)[0]
    assert any("group columns link different statistics" in p for p in problems), problems
    # A whole row printing the next row's numbers.
    broken = copy.deepcopy(target)
    broken.rows[0] = [broken.rows[0][0]] + copy.deepcopy(broken.rows[1][1:])
    assert any("links the same rows as" in p for p in trace_problems([broken], ard)[0])
    # Two group columns swapped.
    broken = copy.deepcopy(target)
    broken.rows[0][1], broken.rows[0][2] = broken.rows[0][2], broken.rows[0][1]
    assert any("column " in p and " links " in p for p in trace_problems([broken], ard)[0])
