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
    text = "line one\nline two\u2028third\u2029fourth"
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


# ------------------------------------------------ site profiles validated as data
SITE = """\
sites:
  TST:
    name: Test site
    country: NL
    delimiter: ";"
    decimal: ","
    encoding: utf-8
    date_format: "%d-%m-%Y"
    ldh_uln_u_l: 248
    codes:
      sex: {M: male, V: female}
      yes_no: {YES: true, NO: false, ON: true, OFF: false}
      diagnosis: {WAIHA: wAIHA, CAD: cAIHA}
      analyte: {HB: hb, LD: ldh, BILI: bilirubin}
      treatment: {DARATUMUMAB: daratumumab}
"""


def _profiles(tmp_path, text: str):
    from aiha.cleaning.profiles import load_site_profiles

    path = tmp_path / "sites.yaml"
    path.write_text(text, encoding="utf-8")
    return load_site_profiles(path)


def test_yes_no_on_off_stay_codes_not_booleans(tmp_path):
    codes = _profiles(tmp_path, SITE)["TST"].codes["yes_no"]
    assert codes == {"YES": True, "NO": False, "ON": True, "OFF": False}


def test_the_shipped_profiles_keep_their_no_codes():
    from aiha.cleaning.profiles import load_site_profiles
    from conftest import ROOT

    profiles = load_site_profiles(ROOT / "resources" / "sites.yaml")
    assert profiles["LON"].codes["yes_no"]["NO"] is False
    assert profiles["MIL"].codes["yes_no"]["NO"] is False


@pytest.mark.parametrize("old, new, key, words", [
    # a quoted "false" is a string: every "no" would become True
    ('{YES: true, NO: false, ON: true, OFF: false}', '{YES: "true", NO: "false"}',
     "codes.yes_no.NO", "must be of type boolean"),
    # the female code mapped to male
    ("{M: male, V: female}", "{M: male, V: male}", "codes.sex", "no site code maps to female"),
    # two codes that read the same, to two values
    ("{M: male, V: female}", "{M: male, V: female, ' m ': female}", "codes.sex",
     "read the same"),
    ("{DARATUMUMAB: daratumumab}", "{DARATUMUMAB: daratumumab, X: therapy}",
     "codes.treatment.X", "is not one of"),
    ("ldh_uln_u_l: 248", "ldh_uln_u_l: 248 U/L", "ldh_uln_u_l", "must be of type number"),
    ("encoding: utf-8", "encoding: utf-9", "encoding", "unknown encoding 'utf-9'"),
    ('delimiter: ";"', 'delimiter: ";;"', "delimiter", "is not one of"),
    ('date_format: "%d-%m-%Y"', 'date_format: "%d-%m"', "date_format", "does not read back"),
    ("    ldh_uln_u_l: 248\n", "    ldh_uln_u_l: 248\n    ldh_uln: 250\n", "ldh_uln",
     "unknown key"),
    ("      treatment:", "      yesno: {J: true}\n      treatment:", "codes.yesno", "unknown key"),
])
def test_a_wrong_profile_is_an_error_naming_file_site_and_key(tmp_path, old, new, key, words):
    assert old in SITE
    with pytest.raises(InputError) as err:
        _profiles(tmp_path, SITE.replace(old, new, 1))
    text = str(err.value)
    assert text.startswith(f"file {tmp_path / 'sites.yaml'}: site TST, key {key}:"), text
    assert words in text, text


def test_a_duplicate_key_is_an_error_naming_site_and_lines(tmp_path):
    text = SITE.replace("{M: male, V: female}", "{M: male, V: female, V: male}")
    with pytest.raises(InputError) as err:
        _profiles(tmp_path, text)
    assert "site TST: " in str(err.value) and "key 'V' given twice" in str(err.value)
    assert "sites.yaml" in str(err.value)
    # a key given twice on separate lines names both lines
    text = SITE.replace("    country: NL\n", "    country: NL\n    country: UK\n")
    with pytest.raises(InputError, match=r"site TST: .*key 'country' given twice \(lines 4 and 5\)"):
        _profiles(tmp_path, text)


def test_a_merge_key_may_be_overridden(tmp_path):
    text = ("_base: &b\n  name: Base\n  country: NL\n" + SITE.replace(
        "  TST:\n    name: Test site\n    country: NL\n", "  TST:\n    <<: *b\n    name: Test site\n"))
    assert _profiles(tmp_path, text)["TST"].name == "Test site"


# ------------------------------------------------ headers once, no C1 controls
def _header(table: str, old: str, new: str):
    def fn(text: str) -> str:
        head, rest = text.split("\n", 1)
        return head.replace(old, new, 1) + "\n" + rest

    return (table, fn)


def test_a_duplicated_header_is_an_error_naming_file_and_both_columns(tmp_path, exports):
    """A second ``value`` column (the last one used to win silently)."""
    site = write_site(tmp_path, exports, "CRE", _header("labs", ",comment", ",Value"))
    with pytest.raises(InputError) as err:
        clean(site, "CRE")
    text = str(err.value)
    assert text.startswith(f"file {site / 'CRE' / 'labs.csv'}")
    assert "duplicated column header: columns" in text and "'value'" in text and "'Value'" in text


def test_a_second_name_column_is_refused_before_the_identifier_index(tmp_path, exports):
    """A physician's ``name`` next to the patient's: the identifier index would read
    the second one, and the patient's own name would be redacted nowhere."""
    site = write_site(tmp_path, exports, "CRE", _header("patients", ",comment", ",name"))
    with pytest.raises(InputError, match=r"patients\.csv.*columns 2 \('name'\) and \d+ \('name'\)"):
        clean(site, "CRE")


@pytest.mark.parametrize("char", ["\x85", "\x92", "\x96"])
def test_a_c1_control_character_is_an_error(tmp_path, exports, char):
    """cp1252 quotes, dashes and the ellipsis read as Latin-1 become C1 controls."""
    site = write_site(tmp_path, exports, "CRE", _set("labs", 1, "comment", f"patient{char}s sample"))
    with pytest.raises(InputError) as err:
        clean(site, "CRE")
    text = str(err.value)
    assert "labs.csv, row 1, column 'comment'" in text
    assert f"U+{ord(char):04X}" in text and "Windows-1252" in text


# ------------------------------------------------ identifiers in every Unicode form
@pytest.mark.parametrize("text", [
    "seen by Camille Lefe\u0301vre",            # NFD: e + combining acute
    "seen by Camille Lef\u00e8vre",             # NFC
    "seen by Ｃａｍｉｌｌｅ",                     # full-width letters (NFKC)
    "seen by Lef\u00adèvre",                    # soft hyphen inside
    "seen by Cam\u200bille",                    # zero-width space inside
    "seen by Camille\u200bLefèvre",             # zero-width space as the word break
    "record HMN\u2060451203",                   # word joiner
    "born 1968\u200c-10-05",                    # zero-width non-joiner in a date
])
def test_a_name_in_another_unicode_form_is_redacted(text):
    from aiha.cleaning.freetext import clean_text
    from aiha.identifiers import IdentifierIndex

    index = IdentifierIndex()
    index.add_person("HMN-451203", "Camille Lefèvre", "1968-10-05", ["%Y-%m-%d"])
    out = clean_text(text, index)
    assert out.endswith("[redacted]"), out
    assert not any(c in out for c in "\u00ad\u200b\u200c\u2060")


def test_the_index_reads_a_name_written_decomposed():
    from aiha.identifiers import IdentifierIndex

    index = IdentifierIndex()
    index.add_person("HMN-451203", "Camille Lefe\u0301vre", "1968-10-05")
    assert index.scrub("Mme LEFÈVRE") == "Mme [redacted]"


def test_text_without_identifiers_keeps_its_form():
    from aiha.identifiers import IdentifierIndex

    index = IdentifierIndex()
    index.add_person("HMN-451203", "Camille Lefèvre", "1968-10-05")
    for text in ("bilirubine 52 µmol/L, ﬁne", "Zoë naïve", "plain"):
        assert index.scrub(text) == text
    assert index.scrub("soft\u00adhyphen") == "softhyphen"  # invisible characters go


# ------------------------------------------------ cross-site and cross-record checks
def _patients_text(site_exports, site: str) -> tuple[list[str], str]:
    text = site_exports[site]["patients"]
    return text.splitlines(), ";" if site in ("AMS", "MIL", "VIE", "RTM", "NMG", "GRO") else ","


def test_the_same_person_at_two_sites_stops_naming_both_rows_never_the_person(tmp_path, exports):
    """AMS's first patient exported again by CRE under a CRE record number."""
    import csv
    import io

    from aiha.cleaning import CleaningLimits, clean_study
    from test_cleaning import CFG, CUTOFF, KEY, PROFILES

    ams = list(csv.reader(io.StringIO(exports["AMS"]["patients"]), delimiter=";"))
    name, born = ams[1][ams[0].index("name")], ams[1][ams[0].index("birth_date")]
    d, m, y = born.split("-")

    def edit(text: str) -> str:
        rows = list(csv.reader(io.StringIO(text), delimiter=","))
        rows[2][rows[0].index("name")] = name.upper()  # another case: still the person
        rows[2][rows[0].index("birth_date")] = f"{y}-{m}-{d}"  # CRE writes ISO dates
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        return buf.getvalue()

    write_site(tmp_path, exports, "AMS")
    write_site(tmp_path, exports, "CRE", ("patients", edit))
    with pytest.raises(InputError) as err:
        clean_study(tmp_path, ["AMS", "CRE"], PROFILES, KEY, CUTOFF,
                    CleaningLimits.from_config(CFG["cleaning"]))
    text = str(err.value)
    assert text.startswith(f"file {tmp_path / 'CRE' / 'patients.csv'}, row 2:"), text
    assert f"{tmp_path / 'AMS' / 'patients.csv'} row 1" in text
    for secret in (name, *[p for p in name.split() if len(p) >= 3], born, ams[1][0]):
        assert secret not in text


def test_a_patient_without_a_baseline_hb_is_a_validation_error(tmp_path, exports):
    import csv
    import io

    pat = list(csv.reader(io.StringIO(exports["CRE"]["patients"]), delimiter=","))
    rec = pat[1][0]
    trt = list(csv.reader(io.StringIO(exports["CRE"]["treatments"]), delimiter=","))
    first = min(r[trt[0].index("administration_date")] for r in trt[1:]
                if r[0] == rec and r[trt[0].index("treatment")] == "DARATUMUMAB")

    def drop_baseline(text: str) -> str:
        rows = list(csv.reader(io.StringIO(text), delimiter=","))
        h = rows[0]
        keep = [r for r in rows[1:] if not (r[0] == rec and r[h.index("analyte")].upper() == "HB"
                                              and r[h.index("sample_date")] <= first)]
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([h, *keep])
        return buf.getvalue()

    with pytest.raises(InputError) as err:
        clean(write_site(tmp_path, exports, "CRE", ("labs", drop_baseline)), "CRE")
    text = str(err.value)
    assert text.startswith(f"file {tmp_path / 'CRE' / 'patients.csv'}, row 1:"), text
    assert "site CRE has no baseline Hb" in text and rec not in text


def test_exact_duplicate_rows_are_one_log_entry_with_their_count(tmp_path, exports):
    def copies(text: str) -> str:
        lines = text.splitlines()
        return "\n".join([*lines, *[lines[1]] * 7]) + "\n"

    t = clean(write_site(tmp_path, exports, "CRE", ("labs", copies)), "CRE")
    entry = t.log[t.log["reason"].str.startswith("exact duplicate of row 1:")]
    assert len(entry) == 1
    assert entry["reason"].iloc[0] == "exact duplicate of row 1: 7 copies dropped"
    assert entry["row"].iloc[0] == 1


# ------------------------------------------------ cytometry collection dates
@pytest.mark.parametrize("when, words", [
    ("2099-01-01", "collection date after the export date 2023-07-15"),
    ("2019-04-04", "collection date -1096 days from the patient's first dose, outside -365 to 1825"),
])
def test_a_sample_collection_date_is_checked_like_a_clinical_date(tmp_path, when, words):
    from datetime import date

    import pandas as pd

    from aiha.cytometry import samplesheet
    from aiha.pseudonym import pseudonymize

    key = b"0123456789abcdef-test-key"
    (tmp_path / "S1-PH.fcs").write_bytes(b"FCS3.1")
    (tmp_path / "S2-PH.fcs").write_bytes(b"FCS3.1")
    path = tmp_path / "samples.csv"
    path.write_text("sample_id,file,site,record_number,tube,visit,collection_date\n"
                    "S1-PH,S1-PH.fcs,AMS,AMC-1,phenotype,baseline,2022-04-01\n"
                    f"S2-PH,S2-PH.fcs,AMS,AMC-1,phenotype,later,{when}\n")
    sheet = samplesheet.read_sample_sheet(path)
    patients = pd.DataFrame({"patient_id": [pseudonymize("AMS", "AMC-1", key)],
                             "first_dose_date": ["2022-04-04"]})
    with pytest.raises(InputError) as err:
        samplesheet.sample_table(sheet, patients, key, str(path), cutoff=date(2023, 6, 30),
                                 export_date=date(2023, 7, 15), days_window=(-365, 1825))
    assert str(err.value).startswith(f"file {path}, row 2, column 'collection_date', value '{when}': ")
    assert words in str(err.value)
    # the first sample alone passes
    ok = samplesheet.sample_table(sheet.iloc[:1], patients, key, str(path), cutoff=date(2023, 6, 30),
                                  export_date=date(2023, 7, 15), days_window=(-365, 1825))
    assert list(ok["day"]) == [-3]


def test_a_sample_after_the_cut_off_is_dropped_not_gated(tmp_path):
    from datetime import date

    import pandas as pd

    from aiha.cytometry import samplesheet
    from aiha.cytometry.plan import sample_rows
    from conftest import ROOT
    from aiha.pseudonym import pseudonymize

    key = b"0123456789abcdef-test-key"
    cyto = tmp_path / "cytometry"
    cyto.mkdir()
    for name in ("S1-PH", "S2-PH", "S3-PH"):
        (cyto / f"{name}.fcs").write_bytes(b"FCS3.1")
    path = cyto / "samples.csv"
    path.write_text("sample_id,file,site,record_number,tube,visit,collection_date\n"
                    "S1-PH,S1-PH.fcs,AMS,AMC-1,phenotype,baseline,2022-04-01\n"
                    "S2-PH,S2-PH.fcs,AMS,AMC-1,phenotype,later,2023-07-01\n"
                    "S3-PH,S3-PH.fcs,AMS,AMC-1,phenotype,last,2023-06-30\n")
    sheet = samplesheet.read_sample_sheet(path)
    # Row 2 is one day after the cut-off; row 3 on the cut-off day is kept.
    assert samplesheet.after_cutoff(sheet, date(2023, 6, 30)) == [2]
    patients = pd.DataFrame({"patient_id": [pseudonymize("AMS", "AMC-1", key)],
                             "first_dose_date": ["2022-04-04"]})
    table = samplesheet.sample_table(sheet, patients, key, str(path), cutoff=date(2023, 6, 30),
                                     export_date=date(2023, 7, 15), days_window=(-365, 1825))
    assert list(table["sample_id"]) == ["S1-PH", "S3-PH"]
    # The plan gates only the kept samples (no job reads the dropped file).
    cfg = {"data": {"generate_demo": False, "raw_dir": str(tmp_path),
                    "site_profiles": str(ROOT / "resources" / "sites.yaml"),
                    "data_cutoff": "2023-06-30"}}
    assert sorted(sample_rows(cfg)) == ["S1-PH", "S3-PH"]


@pytest.mark.parametrize("text", [
    "born on the fourteenth of March nineteen fifty-eight",
    "geboren veertien maart negentienhonderdachtenvijftig",
    "née le quatorze mars mille neuf cent cinquante-huit",
    "geboren am vierzehnten März neunzehnhundertachtundfünfzig",
    "nata il quattordici marzo millenovecentocinquantotto",
    "DOB March 14th, nineteen fifty eight",
])
def test_a_date_of_birth_in_words_is_redacted(text):
    from aiha.identifiers import IdentifierIndex

    index = IdentifierIndex()
    index.add_person("AMC-4471823", "Johanna de Vries", "14-03-1958", ["%d-%m-%Y"])
    out = index.scrub(text)
    assert "[redacted]" in out and "fifty" not in out and "1958" not in out, out
    for word in ("vijftig", "cinquante", "fünfzig", "cinquantotto", "March", "maart", "mars"):
        assert word not in out, out


def test_number_words_in_ordinary_text_stay():
    from aiha.identifiers import IdentifierIndex

    index = IdentifierIndex()
    index.add_person("AMC-4471823", "Johanna de Vries", "14-03-1958", ["%d-%m-%Y"])
    for text in ("twelve units over the first of May two thousand", "Hb negen, otto giorni",
                 "fourteen days in March"):
        assert index.scrub(text) == text
