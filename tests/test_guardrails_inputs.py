"""Guard rails against bad input, each case run through the REAL workflow.

Every case copies the shared demo build (``demo_project``: results/, data/ and the
.snakemake metadata, so Snakemake sees the earlier good run), breaks one input,
runs the narrowest target that shows the error, and checks that

1. snakemake exits non-zero;
2. one clear message names the file and, where they apply, the row, column and
   value (asserted on the specific words). Job-level failures print
   ``ERROR: file <f>, row <n>, column '<c>', value '<v>': <what>`` (rows are 1-based
   data rows, the header is not counted); parse-time failures (config, sample
   sheet, site directories) are Snakemake's one-line ``<Error> in file ...:`` report;
3. no partial output is left: no ``.<name>.tmp`` file of the atomic writers and
   none of the failing rule's declared outputs;
4. the results of the earlier good run are intact, byte for byte, except
   ``results/logs/`` (each job rewrites its log; the log of the failing job is where
   its message is kept) and the failing rule's own declared outputs.

What Snakemake actually does with those outputs (checked here, Snakemake 9):
before it runs a job whose outputs exist but are out of date, it deletes them
(no "Removing output files of failed job" happens, because the failing script
never writes: every writer is atomic, ``aiha.ard.write_tsv`` and the PDF writer
rename a temporary file into place). So a failing job leaves its outputs
*absent*, never stale or half-written: a downstream rule cannot consume an old
summary as if it were new. That is why validation is its own rule
(``validate_clinical``) in front of ``clean_clinical``: the failing job loses only
``results/validation/clinical_inputs.tsv``, while the cleaned tables of the earlier
run are left untouched. Errors found at parse time (config, sample sheet, site
directories) run no job at all, so there every file under results/ is unchanged.

The copies set ``data.generate_demo: false`` so the demo generator does not run and
the copied exports under ``data/demo/`` are the raw input; that changes only the
config (an input of rule ``provenance``, never targeted here). FCS files are
hard-linked from the shared build (40 MB); a case that changes one replaces the
link by a new file, so the shared build is never written.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from conftest import run_snakemake

pytestmark = pytest.mark.workflow

RAW = Path("data/demo")
CLINICAL_TARGET = "results/validation/clinical_inputs.tsv"
SAMPLE = "FCM005-PH"  # a phenotype tube not used by the event figures
# The gating job of SAMPLE's patient (config cytometry.gating_jobs: patient); {unit}
# is the patient's pseudonym, read from the built results/cytometry/samples.tsv.
FCS_TARGET = "results/cytometry/gated/{unit}.qc.tsv"
FCS_OUTPUTS = ["results/cytometry/gated/{unit}.populations.tsv", FCS_TARGET]
DELIMITER = {"CRE": ",", "AMS": ";"}


# ------------------------------------------------------------------ the copy


def _copy_project(src: Path, dest: Path) -> Path:
    """Copy the built demo project; FCS files hard-linked, .snakemake/log skipped."""

    def copy(s: str, d: str) -> None:
        if s.endswith(".fcs"):
            os.link(s, d)
        else:
            shutil.copy2(s, d)

    def ignore(directory: str, names: list[str]) -> set[str]:
        skip = {"__pycache__"}
        if Path(directory).name == ".snakemake":
            skip |= {"log", "locks"}
        return skip & set(names)

    shutil.copytree(src, dest, symlinks=True, copy_function=copy, ignore=ignore)
    cfg = yaml.safe_load((dest / "config.yaml").read_text())
    cfg["data"]["generate_demo"] = False
    write_config(dest, cfg)
    return dest


def write_config(project: Path, cfg: dict) -> None:
    (project / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))


def rewrite(path: Path, data: bytes) -> None:
    """Replace a file by new bytes (never write through a hard link)."""
    if path.exists():
        path.unlink()
    path.write_bytes(data)


def snapshot(project: Path) -> dict[str, str]:
    """SHA-256 of every file under results/ except results/logs/."""
    out = {}
    for path in sorted((project / "results").rglob("*")):
        rel = path.relative_to(project).as_posix()
        if path.is_file() and not rel.startswith("results/logs/"):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


# ------------------------------------------------------------------ edits


def read_rows(path: Path, delimiter: str, encoding: str = "utf-8") -> list[list[str]]:
    return list(csv.reader(path.read_text(encoding).splitlines(), delimiter=delimiter))


def write_rows(path: Path, rows: list[list[str]], delimiter: str) -> None:
    import io

    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    rewrite(path, buf.getvalue().encode("utf-8"))


def edit_cell(site: str, table: str, row: int, column: str, value: str):
    """Set data row ``row`` (1-based), ``column`` of a site's export to ``value``."""

    def edit(p: Path) -> None:
        path = p / RAW / site / f"{table}.csv"
        rows = read_rows(path, DELIMITER[site])
        rows[row][rows[0].index(column)] = value
        write_rows(path, rows, DELIMITER[site])

    return edit


def edit_rows(site: str, table: str, fn: Callable[[list[list[str]]], list[list[str]]]):
    def edit(p: Path) -> None:
        path = p / RAW / site / f"{table}.csv"
        write_rows(path, fn(read_rows(path, DELIMITER[site])), DELIMITER[site])

    return edit


def edit_bytes(relpath: str, fn: Callable[[bytes], bytes]):
    def edit(p: Path) -> None:
        path = p / relpath
        rewrite(path, fn(path.read_bytes()))

    return edit


def edit_config(fn: Callable[[dict], None]):
    def edit(p: Path) -> None:
        cfg = yaml.safe_load((p / "config.yaml").read_text())
        fn(cfg)
        write_config(p, cfg)

    return edit


def _set(path: str, value):
    def fn(cfg: dict) -> None:
        *parents, last = path.split(".")
        node = cfg
        for k in parents:
            node = node[k]
        node[last] = value

    return fn


def _drop_column(name: str):
    def fn(rows):
        i = rows[0].index(name)
        return [r[:i] + r[i + 1:] for r in rows]

    return fn


def _rename_column(old: str, new: str):
    def fn(rows):
        rows[0][rows[0].index(old)] = new
        return rows

    return fn


def _append_copy(row: int, column: str, value: str):
    def fn(rows):
        copy = list(rows[row])
        copy[rows[0].index(column)] = value
        return [*rows, copy]

    return fn


def _first_dose_after_cutoff(rows):
    """Move every daratumumab dose of the first patient two years later."""
    rec = rows[1][0]
    for r in rows[1:]:
        if r[0] == rec and r[2] == "DARATUMUMAB":
            r[1] = f"{int(r[1][:4]) + 2}{r[1][4:]}"
    return rows


def _no_daratumumab(rows):
    rec = rows[1][0]
    for r in rows[1:]:
        if r[0] == rec and r[2] == "DARATUMUMAB":
            r[2] = "RITUXIMAB"
    return rows


def _unknown_site(p: Path) -> None:
    shutil.copytree(p / RAW / "CRE", p / RAW / "XYZ")


def _latin1(p: Path) -> None:
    path = p / RAW / "CRE" / "patients.csv"
    rewrite(path, path.read_text("utf-8").encode("latin-1"))


def _wrong_delimiter(p: Path) -> None:
    path = p / RAW / "CRE" / "labs.csv"
    rewrite(path, path.read_bytes().replace(b",", b";"))


def _headerless(p: Path) -> None:
    path = p / RAW / "CRE" / "patients.csv"
    rewrite(path, path.read_bytes().split(b"\n", 1)[1])


def _extra_field(p: Path) -> None:
    path = p / RAW / "CRE" / "patients.csv"
    lines = path.read_bytes().split(b"\n")
    lines[2] += b",extra"
    rewrite(path, b"\n".join(lines))


def _remove_fcs(p: Path) -> None:
    (p / RAW / "cytometry" / f"{SAMPLE}.fcs").unlink()


def _stray_fcs(p: Path) -> None:
    src = p / RAW / "cytometry" / f"{SAMPLE}.fcs"
    rewrite(src.with_name("STRAY-01.fcs"), src.read_bytes())


def _fcs(fn: Callable[[bytes], bytes]):
    return edit_bytes(f"{RAW}/cytometry/{SAMPLE}.fcs", fn)


def _sheet_cell(sample_id: str, column: str, value: str):
    def edit(p: Path) -> None:
        path = p / RAW / "cytometry" / "samples.csv"
        rows = read_rows(path, ",")
        i = rows[0].index(column)
        hit = [r for r in rows[1:] if r[0] == sample_id]
        assert len(hit) == 1
        hit[0][i] = value
        write_rows(path, rows, ",")

    return edit


def _fcs_named(name: str):
    """SAMPLE's FCS file renamed to ``name`` (and its sheet row with it)."""

    def edit(p: Path) -> None:
        src = p / RAW / "cytometry" / f"{SAMPLE}.fcs"
        os.replace(src, src.with_name(name))
        _sheet_cell(SAMPLE, "file", name)(p)

    return edit


def _profile_edit(old: str, new: str):
    def edit(p: Path) -> None:
        path = p / "resources" / "sites.yaml"
        text = path.read_text("utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), "utf-8")

    return edit


def _claims(fn: Callable[[str], str]):
    def edit(p: Path) -> None:
        src = p / "resources" / "published_claims.yaml"
        bad = p / "bad_claims.yaml"
        bad.write_text(fn(src.read_text("utf-8")), "utf-8")
        edit_config(_set("audit.claims", "bad_claims.yaml"))(p)

    return edit


def _drop_published(text: str) -> str:
    lines = text.split("\n")
    i = next(k for k, line in enumerate(lines) if line.strip().startswith("published:"))
    return "\n".join(lines[:i] + lines[i + 1:])


def _header_only(site: str):
    """Every export of a site reduced to its header row."""

    def edit(p: Path) -> None:
        for table in ("patients", "labs", "transfusions", "treatments", "adverse_events"):
            path = p / RAW / site / f"{table}.csv"
            rewrite(path, path.read_bytes().split(b"\n", 1)[0] + b"\n")

    return edit


def _swap_header(a: str, b: str):
    def fn(rows):
        i, j = rows[0].index(a), rows[0].index(b)
        rows[0][i], rows[0][j] = b, a
        return rows

    return fn


def _headerless_with_column_like_record(p: Path) -> None:
    """A file without its header, whose first record number looks like a column name."""
    path = p / RAW / "CRE" / "patients.csv"
    body = path.read_bytes().split(b"\n", 1)[1]
    rewrite(path, body.replace(b"HMN-451203", b"HMN_REC_ABCDEF", 1))


def _own_key_needed(p: Path) -> None:
    """A patient who is not in the demo cohort, pseudonymized with the demo key."""
    edit_rows("CRE", "patients", _append_copy(1, "record_number", "HMN-777777"))(p)


# ------------------------------------------------------------------ the corpus


@dataclass(frozen=True)
class Case:
    edit: Callable[[Path], None]
    words: tuple[str, ...]
    target: str = CLINICAL_TARGET
    # Declared outputs of the failing rule (absent afterwards); () = parse-time error.
    failing_outputs: tuple[str, ...] = (CLINICAL_TARGET,)
    # Text that must not appear in the message (identifiers).
    hidden: tuple[str, ...] = field(default=())


LABS_CRE = "data/demo/CRE/labs.csv"
PAT_CRE = "data/demo/CRE/patients.csv"
AE_CRE = "data/demo/CRE/adverse_events.csv"
TRT_CRE = "data/demo/CRE/treatments.csv"
SHEET = "data/demo/cytometry/samples.csv"
FCS = f"data/demo/cytometry/{SAMPLE}.fcs"


def _sheet_row(sample_id: str) -> str:
    """'row N': SAMPLE's 1-based data row in the demo sample sheet, from the
    generator's plan of the sheet (rows in plan order)."""
    import yaml

    from aiha.cytometry.demo import plan_samples
    from aiha.demo.cohort import load_spec

    root = Path(__file__).resolve().parents[1]
    cfg = yaml.safe_load((root / "config.yaml").read_text())
    plan = plan_samples(load_spec(root / cfg["data"]["demo_spec"]), cfg["cytometry"]["demo"])
    return f"row {[s.sample_id for s in plan].index(sample_id) + 1}"


SAMPLE_ROW = _sheet_row(SAMPLE)
CRE_IDENTIFIERS = ("HMN-451203", "Lefèvre", "Lef", "Camille", "1968-10-05", "HMN-460881", "Moreau")

CASES: dict[str, Case] = {
    # ---- clinical exports (rule validate_clinical)
    "missing_column": Case(edit_rows("CRE", "adverse_events", _drop_column("ctcae_grade")),
                           (AE_CRE, "missing column", "'ctcae_grade'")),
    "renamed_column": Case(edit_rows("CRE", "labs", _rename_column("sample_date", "date_prelevement")),
                           (LABS_CRE, "missing column", "'sample_date'", "date_prelevement")),
    "unknown_unit": Case(edit_cell("CRE", "labs", 1, "unit", "mg/mL"),
                         (LABS_CRE, "row 1", "column 'unit'", "value 'mg/mL'", "unknown hemoglobin unit")),
    "hb_150_g_dl": Case(edit_cell("CRE", "labs", 1, "value", "150.0"),
                        (LABS_CRE, "row 1", "column 'value'", "value '150.0'", "implausible hb 150 g/dL")),
    "negative_value": Case(edit_cell("CRE", "labs", 2, "value", "-584"),
                           (LABS_CRE, "row 2", "column 'value'", "value '-584'", "implausible ldh")),
    "unparsable_date": Case(edit_cell("CRE", "labs", 2, "sample_date", "2022-13-16"),
                            (LABS_CRE, "row 2", "column 'sample_date'", "value '2022-13-16'", "not a date")),
    "ae_before_first_dose": Case(edit_cell("CRE", "adverse_events", 1, "onset_date", "2022-06-07"),
                                 (AE_CRE, "row 1", "column 'onset_date'", "value '2022-06-07'",
                                  "before the first dose 2022-07-11")),
    "first_dose_after_cutoff": Case(edit_rows("CRE", "treatments", _first_dose_after_cutoff),
                                    (TRT_CRE, "row 1", "column 'administration_date'", "value '2024-07-11'",
                                     "first dose after the data cut-off 2023-06-30")),
    "duplicate_patient_conflict": Case(edit_rows("CRE", "patients", _append_copy(1, "diagnosis", "MAF")),
                                       (PAT_CRE, "row 3", "column 'record_number'", "different data",
                                        "first at row 1"), hidden=CRE_IDENTIFIERS),
    "unknown_site_code": Case(_unknown_site, ("data/demo", "['XYZ']", "no export profile", "resources/sites.yaml"),
                              failing_outputs=()),
    "diagnosis_not_allowed": Case(edit_cell("CRE", "patients", 1, "diagnosis", "AHAI MIXTE"),
                                  (PAT_CRE, "row 1", "column 'diagnosis'", "value 'AHAI MIXTE'",
                                   "unknown diagnosis code")),
    "empty_file": Case(edit_bytes("data/demo/CRE/transfusions.csv", lambda b: b""),
                       ("data/demo/CRE/transfusions.csv", "file is empty")),
    "wrong_encoding": Case(_latin1, (PAT_CRE, "not valid utf-8", "byte 0xe8"), hidden=CRE_IDENTIFIERS),
    "wrong_delimiter": Case(_wrong_delimiter, (LABS_CRE, "missing column", "'record_number'",
                                               "record_number;sample_date", "delimiter")),
    "ae_grade_6": Case(edit_cell("CRE", "adverse_events", 1, "ctcae_grade", "6"),
                       (AE_CRE, "row 1", "column 'ctcae_grade'", "value '6'", "CTCAE grade must be 1-5")),
    "ae_grade_0": Case(edit_cell("CRE", "adverse_events", 1, "ctcae_grade", "0"),
                       (AE_CRE, "row 1", "column 'ctcae_grade'", "value '0'", "CTCAE grade must be 1-5")),
    "decimal_mark": Case(edit_bytes("data/demo/AMS/labs.csv", lambda b: b.replace(b";4,5;", b";4.5;", 1)),
                         ("data/demo/AMS/labs.csv", "row 1", "column 'value'", "value '4.5'", "decimal mark")),
    "unknown_analyte": Case(edit_cell("CRE", "labs", 1, "analyte", "HBA1C"),
                            (LABS_CRE, "row 1", "column 'analyte'", "value 'HBA1C'", "unknown analyte code")),
    "record_not_in_patients": Case(edit_cell("CRE", "labs", 1, "record_number", "HMN-999999"),
                                   (LABS_CRE, "row 1", "column 'record_number'", "not in the site's patients.csv"),
                                   hidden=("HMN-999999",)),
    "two_values_one_date": Case(edit_rows("CRE", "labs", _append_copy(1, "value", "8.0")),
                                (LABS_CRE, "two different hb values on the same date", "value")),
    "prior_lines_not_integer": Case(edit_cell("CRE", "patients", 1, "prior_lines", "four"),
                                    (PAT_CRE, "row 1", "column 'prior_lines'", "value 'four'",
                                     "must be a whole number")),
    "unknown_prior_therapy": Case(edit_cell("CRE", "patients", 1, "prior_therapies",
                                            "prednisone | plasmaphérèse"),
                                  (PAT_CRE, "row 1", "column 'prior_therapies'",
                                   "value 'plasmaphérèse'", "unknown prior_therapy code")),
    "no_daratumumab": Case(edit_rows("CRE", "treatments", _no_daratumumab),
                           (TRT_CRE, "patient has no daratumumab administration", "patients.csv row 1")),
    # identifiers never appear in a message: a bad date of birth, a headerless file,
    # a row with a field too many (the row's text used to be echoed)
    "bad_birth_date": Case(edit_cell("CRE", "patients", 1, "birth_date", "1968-10-35"),
                           (PAT_CRE, "row 1", "column 'birth_date'", "[date of birth]", "not a date"),
                           hidden=(*CRE_IDENTIFIERS, "1968-10-35")),
    "age_under_18": Case(edit_cell("CRE", "patients", 1, "birth_date", "2010-10-05"),
                         (PAT_CRE, "row 1", "column 'birth_date'", "age at first dose 11 outside 18-110"),
                         hidden=(*CRE_IDENTIFIERS, "2010-10-05")),
    "headerless_file": Case(_headerless, (PAT_CRE, "missing column", "'record_number'", "[not shown]"),
                            hidden=CRE_IDENTIFIERS),
    "field_too_many": Case(_extra_field, (PAT_CRE, "row 2", "has 12 fields, header has 11"),
                           hidden=CRE_IDENTIFIERS),
    # ---- issue 13: identifiers, dated records, real CSV, limits
    "ae_in_the_future": Case(edit_cell("CRE", "adverse_events", 1, "onset_date", "2099-01-01"),
                             (AE_CRE, "row 1", "column 'onset_date'", "value '2099-01-01'",
                              "after the export date", "in the future of the export")),
    "empty_site": Case(_header_only("CRE"), (PAT_CRE, "site CRE has no patients", "only its header row")),
    "swapped_name_diagnosis": Case(edit_rows("CRE", "patients", _swap_header("name", "diagnosis")),
                                   (PAT_CRE, "column 'name'", "identifier column holds the site's codes"),
                                   hidden=CRE_IDENTIFIERS),
    "record_number_like_column": Case(_headerless_with_column_like_record,
                                      (PAT_CRE, "missing column", "[not shown]"),
                                      hidden=(*CRE_IDENTIFIERS, "HMN_REC_ABCDEF")),
    "name_in_wrong_column": Case(edit_cell("CRE", "patients", 1, "sex", "Camille Lefèvre"),
                                 (PAT_CRE, "row 1", "column 'sex'", "unknown sex code", "[identifier]"),
                                 hidden=CRE_IDENTIFIERS),
    "record_number_in_unit": Case(edit_cell("CRE", "labs", 1, "unit", "451203"),
                                  (LABS_CRE, "row 1", "column 'unit'", "[identifier]"),
                                  hidden=("451203",)),
    "nul_byte": Case(edit_cell("CRE", "labs", 1, "comment", "before\x00after"),
                     (LABS_CRE, "row 1", "column 'comment'", "U+0000", "NUL byte")),
    "field_over_limit": Case(edit_cell("CRE", "labs", 1, "comment", "x" * 1_000_000),
                             (LABS_CRE, "row 1", "column 'comment'", "field of 1000000 characters",
                              "the limit is 32768")),
    "integer_23_digits": Case(edit_cell("CRE", "transfusions", 1, "units", "1" * 23),
                              ("data/demo/CRE/transfusions.csv", "row 1", "column 'units'",
                               "whole number out of range (allowed 1-20)")),
    "transfusion_units_absurd": Case(edit_cell("CRE", "transfusions", 1, "units", "100"),
                                     ("data/demo/CRE/transfusions.csv", "row 1", "column 'units'", "value '100'",
                                      "out of range (allowed 1-20)")),
    "negative_dose": Case(edit_cell("CRE", "treatments", 1, "dose_mg", "-1800"),
                          (TRT_CRE, "row 1", "column 'dose_mg'", "value '-1800'",
                           "implausible dose -1800 mg", "cleaning.hard_limits.dose_mg")),
    "demo_key_for_real_patients": Case(_own_key_needed, ("data.pseudonym_key_file", "committed demo key"),
                                       failing_outputs=(), hidden=("HMN-777777",)),
    "config_date_not_real": Case(edit_config(_set("data.data_cutoff", "2023-02-30")),
                                 ("config.yaml: data.data_cutoff", "'2023-02-30' is not a 'date'"),
                                 "results/report/study_report.pdf", ()),
    # ---- FCS files (rule cytometry_gate, the job of SAMPLE's patient)
    "fcs_truncated": Case(_fcs(lambda b: b[: len(b) // 2]),
                          (FCS, "FCS file unreadable (truncated or corrupt)", "data section greater than file size"),
                          FCS_TARGET, tuple(FCS_OUTPUTS)),
    "fcs_header_offsets": Case(_fcs(lambda b: b[:10] + b"     2x6" + b[18:]),
                               (FCS, "FCS file unreadable (truncated or corrupt)", "2x6"),
                               FCS_TARGET, tuple(FCS_OUTPUTS)),
    "fcs_header_magic": Case(_fcs(lambda b: b"XCS" + b[3:]),
                             (FCS, "column 'HEADER'", "value 'XCS3.1'", "does not start with 'FCS'"),
                             FCS_TARGET, tuple(FCS_OUTPUTS)),
    "fcs_missing_channel": Case(_fcs(lambda b: b.replace(b"/$P10S/CD38/", b"/$P10S/CD39/")),
                                (FCS, "column 'CD38'", "channel needed by the gates is missing"),
                                FCS_TARGET, tuple(FCS_OUTPUTS)),
    "fcs_spillover_detector": Case(_fcs(lambda b: b.replace(b"8,BV421-A,", b"8,BV421-X,")),
                                   (FCS, "column '$SPILLOVER'", "value 'BV421-X'",
                                    "spillover names a detector that is not a channel"),
                                   FCS_TARGET, tuple(FCS_OUTPUTS)),
    "fcs_spillover_size": Case(_fcs(lambda b: b.replace(b"/8,BV421-A,", b"/9,BV421-A,")),
                               (FCS, "column '$SPILLOVER'", "value 9", "expected 9 names and 81 coefficients"),
                               FCS_TARGET, tuple(FCS_OUTPUTS)),
    "fcs_tot_off_by_one": Case(_fcs(lambda b: b.replace(b"/$TOT/30000/", b"/$TOT/30001/")),
                               # (a 5-digit value is shown in the text, not as the
                               # value: in a gating job no identifier index is active)
                               (FCS, "column '$TOT'",
                                "$TOT says 30001 events but the DATA segment holds 30000"),
                               FCS_TARGET, tuple(FCS_OUTPUTS)),
    "fcs_zero_events": Case(_fcs(lambda b: b.replace(b"/$TOT/30000/", b"/$TOT/00000/")),
                            (FCS, "column '$TOT'", "value 0", "zero events"),
                            FCS_TARGET, tuple(FCS_OUTPUTS)),
    # float data declared as integers: gated as noise before (issue 25)
    "fcs_datatype_int_for_float": Case(_fcs(lambda b: b.replace(b"$DATATYPE/F/", b"$DATATYPE/I/", 1)),
                                       (FCS, "column '$DATATYPE'", "value 'I'",
                                        "$DATATYPE I but channel 1 holds values up to"),
                                       FCS_TARGET, tuple(FCS_OUTPUTS)),
    # ---- cytometry sample sheet (read when the workflow is parsed)
    "sheet_row_without_file": Case(_remove_fcs, (SHEET, SAMPLE_ROW, "column 'file'", f"value '{SAMPLE}.fcs'",
                                                 "does not exist"), FCS_TARGET, ()),
    "fcs_without_row": Case(_stray_fcs, ("data/demo/cytometry/STRAY-01.fcs", "value 'STRAY-01.fcs'",
                                         "no row in the sample sheet"), FCS_TARGET, ()),
    "sheet_bad_tube": Case(_sheet_cell(SAMPLE, "tube", "phenotyp"),
                           (SHEET, SAMPLE_ROW, "column 'tube'", "value 'phenotyp'", "sample sheet check failed"),
                           FCS_TARGET, ()),
    "sheet_unknown_patient": Case(_sheet_cell(SAMPLE, "record_number", "AMC-0000000"),
                                  (SHEET, SAMPLE_ROW, "column 'record_number'", "not in the clinical patients table"),
                                  "results/cytometry/samples.tsv", ("results/cytometry/samples.tsv",),
                                  hidden=("AMC-0000000",)),
    # identifiers in a file name or a sample id: refused when the workflow is parsed,
    # before any job reads, digests or gates the files (issue 25)
    "fcs_file_named_by_patient": Case(_fcs_named("HMN-451203.fcs"),
                                      (SHEET, SAMPLE_ROW, "column 'file'", "holds an identifier"),
                                      FCS_TARGET, (), hidden=CRE_IDENTIFIERS),
    "sample_id_with_a_name": Case(_sheet_cell(SAMPLE, "sample_id", "Lefevre-PH"),
                                  (SHEET, SAMPLE_ROW, "column 'sample_id'", "holds an identifier"),
                                  FCS_TARGET, (), hidden=CRE_IDENTIFIERS),
    # ---- site profiles (validated when the workflow is parsed, issue 25)
    "profile_limit_with_unit": Case(_profile_edit("ldh_uln_u_l: 246", "ldh_uln_u_l: 246 U/L"),
                                    ("resources/sites.yaml", "site CRE, key ldh_uln_u_l",
                                     "must be of type number"), failing_outputs=()),
    "profile_duplicate_key": Case(_profile_edit("sex: {H: male, F: female}",
                                                "sex: {H: male, F: female, F: male}"),
                                  ("resources/sites.yaml", "site CRE", "key 'F' given twice"),
                                  failing_outputs=()),
    "profile_quoted_false": Case(_profile_edit("yes_no: {OUI: true, NON: false}",
                                               'yes_no: {OUI: true, NON: "false"}'),
                                 ("resources/sites.yaml", "site CRE, key codes.yes_no.NON",
                                  "must be of type boolean"), failing_outputs=()),
    # ---- duplicated header, C1 controls (issue 25)
    "duplicated_header": Case(edit_rows("CRE", "labs", _rename_column("comment", "value")),
                              (LABS_CRE, "duplicated column header", "'value'")),
    "c1_control": Case(edit_cell("CRE", "labs", 1, "comment", "patient\x92s sample"),
                       (LABS_CRE, "row 1", "column 'comment'", "U+0092", "Windows-1252")),
    # ---- config (validated when the workflow is parsed)
    "config_unknown_key": Case(edit_config(_set("response.pr_typo", 3)),
                               ("config.yaml: response: Additional properties are not allowed",
                                "'pr_typo' was unexpected"), failing_outputs=()),
    "config_wrong_type": Case(edit_config(_set("response.pr_hb_g_dl", "ten")),
                              ("config.yaml: response.pr_hb_g_dl: 'ten' is not of type 'number'",),
                              failing_outputs=()),
    "config_out_of_range": Case(edit_config(_set("statistics.ci_level", 1.5)),
                                ("config.yaml: statistics.ci_level: 1.5 is greater than or equal to "
                                 "the maximum of 1",), failing_outputs=()),
    "config_missing_raw_dir": Case(edit_config(_set("data.raw_dir", "data/nowhere")),
                                   ("config data.raw_dir", "'data/nowhere' does not exist"), failing_outputs=()),
    "claims_field_missing": Case(_claims(_drop_published), ("bad_claims.yaml", "row 1", "column 'published'",
                                                            "claim 'n_total' lacks 'published'"),
                                 "results/audit/claims.tsv", ("results/audit/claims.tsv",)),
    "claims_not_yaml": Case(_claims(lambda t: t.replace("claims:\n", "claims:\n  - id: [broken\n", 1)),
                            ("bad_claims.yaml", "not valid YAML"),
                            "results/audit/claims.tsv", ("results/audit/claims.tsv",)),
}


def _resolve_unit(case: Case, work: Path) -> Case:
    """Fill in {unit}: the pseudonym of SAMPLE's patient, whose gating job gates it."""
    import dataclasses

    import pandas as pd

    samples = pd.read_csv(work / "results" / "cytometry" / "samples.tsv", sep="\t", dtype=str)
    unit = samples.set_index("sample_id").loc[SAMPLE, "patient_id"]
    return dataclasses.replace(case, target=case.target.format(unit=unit),
                               failing_outputs=tuple(p.format(unit=unit) for p in case.failing_outputs))


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_stops_with_one_clear_message(demo_project: Path, tmp_path: Path, name: str):
    work = _copy_project(demo_project, tmp_path / "project")
    case = _resolve_unit(CASES[name], work)
    before = snapshot(work)
    assert case.target in before
    case.edit(work)
    proc = run_snakemake(work, case.target, check=False)
    out = proc.stderr + proc.stdout

    # 1. non-zero exit
    assert proc.returncode != 0, out[-3000:]
    # 2. one clear message naming the file, row, column and value
    if case.failing_outputs:  # a job failed: its script printed one ERROR line
        errors = sorted({line for line in proc.stderr.splitlines() if line.startswith("ERROR: ")})
        assert len(errors) == 1, out[-3000:]
        message = errors[0]
    else:  # parse time: Snakemake's own report of the exception
        message = proc.stderr
    print(f"MESSAGE {name}: {' | '.join(message.strip().splitlines()[:4])[:600]}")
    for word in case.words:
        assert word in message, (word, message[-3000:])
    for secret in case.hidden:
        assert secret not in out, (secret, message)
        logs = work / "results" / "logs"
        for log in logs.rglob("*.log"):
            assert secret not in log.read_text(errors="ignore"), (secret, log)
    # 3. no partial output
    after = snapshot(work)
    assert not [p for p in after if p.endswith(".tmp")]
    for path in case.failing_outputs:
        assert not (work / path).exists(), path
    # 4. the earlier good run is intact, except the failing rule's own outputs
    expected = {k: v for k, v in before.items() if k not in case.failing_outputs}
    assert after == expected


# The defects of the guard-rail issues, each a case of the corpus above (the
# identifier forms in free text are in tests/test_guardrails_identifiers.py, CSV
# details in tests/test_guardrails_cleaning.py).
ISSUE_DEFECTS = {
    "identifiers echoed in errors": ["swapped_name_diagnosis", "record_number_like_column",
                                     "name_in_wrong_column", "record_number_in_unit"],
    "adverse events after the cut-off": ["ae_in_the_future"],
    "a site of header-only files": ["empty_site"],
    "real CSV": ["nul_byte", "field_over_limit", "integer_23_digits"],
    "a config date that does not exist": ["config_date_not_real"],
    "FCS header counts": ["fcs_tot_off_by_one", "fcs_zero_events"],
    "the demo key for real data": ["demo_key_for_real_patients"],
    "absurd values": ["negative_dose", "transfusion_units_absurd"],
    "identifiers in file names and sample ids": ["fcs_file_named_by_patient",
                                                 "sample_id_with_a_name"],
    "site profiles as data": ["profile_limit_with_unit", "profile_duplicate_key",
                              "profile_quoted_false"],
    "duplicated headers, C1 controls": ["duplicated_header", "c1_control"],
    "FCS $DATATYPE against the data": ["fcs_datatype_int_for_float"],
}


@pytest.mark.parametrize("defect", sorted(ISSUE_DEFECTS))
def test_corpus_covers_each_defect(defect):
    missing = [name for name in ISSUE_DEFECTS[defect] if name not in CASES]
    assert not missing, f"{defect}: no corpus case {missing}"


def test_suspicious_values_are_kept_and_logged(demo_results: Path):
    """A plausible but unusual value does not stop the run: it is kept, flagged in
    labs.tsv and listed in the cleaning log (the demo has such values)."""
    import pandas as pd

    log = pd.read_csv(demo_results / "clinical" / "cleaning_log.tsv", sep="\t", dtype=str,
                      keep_default_na=False)
    flagged = log[log["reason"].str.contains("kept and flagged")]
    assert len(flagged) >= 2
    assert "data/demo/LDS/labs.csv" in set(flagged["file"])
    assert flagged["reason"].str.startswith("suspicious ").all()
    labs = pd.read_csv(demo_results / "clinical" / "labs.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert (labs["flag"] == "suspicious").sum() == len(flagged)
    assert (demo_results / "report" / "study_report.pdf").is_file()
