"""Issue 13 guard rails as unit tests on one site's exports: real CSV, dated
records, identifiers and formulas in free text. Expected values come from the
edits made here."""

from __future__ import annotations

import pytest

from aiha.errors import InputError
from test_cleaning import clean, exports, write_site  # noqa: F401 (fixture)

# CRE exports: comma, ISO dates. Row 1 of patients is Camille Lefèvre, HMN-451203,
# born 1968-10-05; row 1 of adverse events is hers.


def _set(table: str, row: int, column: str, value: str):
    """Edit data row ``row`` of an export's CSV text (written back as real CSV)."""

    def fn(text: str) -> str:
        import csv
        import io

        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=","))
        rows[row][rows[0].index(column)] = value
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        return buf.getvalue()

    return (table, fn)


def test_quoted_newline_and_unicode_separators_stay_in_the_field(tmp_path, exports):
    text = "line one\nline two\u2028third\u0085fourth"
    t = clean(write_site(tmp_path, exports, "CRE", _set("patients", 1, "comment", text)), "CRE")
    assert text in set(t.patients["comment"])
    assert len(t.patients) == 2


def test_adverse_event_after_the_cutoff_is_dropped_and_logged(tmp_path, exports):
    t = clean(write_site(tmp_path, exports, "CRE", _set("adverse_events", 1, "onset_date", "2023-07-01")),
              "CRE")
    assert t.adverse_events.empty
    dropped = t.log[(t.log["field"] == "onset_date") & (t.log["new"] == "dropped")]
    assert list(dropped["old"]) == ["2023-07-01"]
    assert dropped["reason"].iloc[0] == "after data cut-off 2023-06-30"


def test_a_date_in_the_future_of_the_export_is_an_error(tmp_path, exports):
    with pytest.raises(InputError, match="after the export date"):
        clean(write_site(tmp_path, exports, "CRE", _set("labs", 1, "sample_date", "2099-01-01")), "CRE")


@pytest.mark.parametrize("text", [
    "seen with Johanna de Vries", "AMC 4471823", "born 14/03/1958", "J. de Vries", "4471823",
])
def test_another_sites_patient_in_an_ae_term_is_redacted(tmp_path, exports, text):
    """AMS's patient W01 (AMC-4471823, Johanna de Vries, 14-03-1958) named in a CRE
    adverse-event term: the index covers every site."""
    from aiha.cleaning import CleaningLimits, clean_study
    from test_cleaning import CFG, CUTOFF, KEY, PROFILES

    write_site(tmp_path, exports, "AMS")
    write_site(tmp_path, exports, "CRE", _set("adverse_events", 1, "term", f"Zoster ({text})"))
    t = clean_study(tmp_path, ["AMS", "CRE"], PROFILES, KEY, CUTOFF,
                    CleaningLimits.from_config(CFG["cleaning"]))
    term = t.adverse_events["term"]
    prefix = text.split("Johanna")[0] if "Johanna" in text else text.split("14/")[0] if "14/" in text else ""
    assert f"Zoster ({prefix}[redacted])" in set(term)
    assert not term.str.contains("4471823|Vries|1958").any()


def test_formula_in_free_text_is_neutralised_and_logged(tmp_path, exports):
    t = clean(write_site(tmp_path, exports, "CRE", _set("labs", 1, "comment", '=HYPERLINK("http://x","y")')),
              "CRE")
    assert '\'=HYPERLINK("http://x","y")' in set(t.labs["comment"])
    assert "spreadsheet formula neutralised" in set(t.log["reason"])
