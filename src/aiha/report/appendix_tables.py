"""Appendix and auditor tables: cleaning, cytometry QC, provenance, claims audit,
independent QC, sensitivity analyses."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from aiha import formatting as F
from aiha.audit import parse_statistics
from aiha.cleaning.tallies import routine_kind
from aiha.pseudonym import is_pseudonym
from aiha.report.model import (ARD, GROUP_LABELS, Cell, Fmt, Rows, Table, anchor, back_links,
                               joined, numbers)

CLEANING_SUMMARY = "results/stats/cleaning_summary.tsv"


def cleaning_summary_rows(summary: pd.DataFrame) -> Rows:
    """The rows of results/stats/cleaning_summary.tsv (rule cleaning_summary) as Table A1
    links to them: one per action (``action / rows``)."""
    return Rows(summary.assign(statistic="rows"), ["action", "statistic"], value_column="rows",
                prefix="clean", source=CLEANING_SUMMARY)


def cleaning_summary_table(summary: pd.DataFrame, book: Rows) -> Table:
    """Routine cleaning actions (config ``report.cleaning_log_routine``) counted, not
    listed: the counts of rule cleaning_summary, each linked to its row."""
    rows = [[str(action), book.cell(lambda a=action: F.fmt_count(book.value(str(a), "rows")))]
            for action in summary["action"]]
    return Table("cleaning_summary", "Table A1. Cleaning actions by kind (rows of the cleaning log)",
                 ["Action", "Rows"], rows, source=CLEANING_SUMMARY)


def cleaning_table(log: pd.DataFrame, routine: Sequence[str] = ()) -> Table:
    """Cleaning-log rows other than the routine ones: corrections, duplicates, flags."""
    header = ["File", "Row", "Field", "Old value", "New value", "Reason"]
    rows = [[F.fmt_text(r["file"]), F.fmt_count(r["row"]), F.fmt_text(r["field"]),
             F.fmt_text(r["old"]), F.fmt_text(r["new"]), F.fmt_text(r["reason"])]
            for _, r in log.iterrows() if routine_kind(r["reason"], routine) is None]
    return Table("cleaning_log", "Listing A1. Cleaning log: corrected, removed and flagged values",
                 header, rows, numeric=[False, True, False, False, False, False],
                 css_class="listing", source="results/clinical/cleaning_log.tsv")


def flagged_labs_table(labs: pd.DataFrame, fmt: Fmt) -> Table:
    flagged = labs[labs["flag"].astype(str).str.strip() != ""]
    header = ["Patient", "Date", "Day", "Analyte", "Value", "Unit", "Raw value", "Raw unit",
              "Flag", "Comment"]
    rows = [[r["patient_id"], F.fmt_date(r["date"]), F.fmt_count(r["day"]), r["analyte"],
             F.fmt_number(r["value"], fmt.other), r["unit"], F.fmt_text(r["raw_value"]),
             F.fmt_text(r["raw_unit"]), r["flag"], F.fmt_text(r["comment"])]
            for _, r in flagged.iterrows()]
    return Table("flagged_labs", "Listing A2. Laboratory values flagged during cleaning", header,
                 rows, numeric=[False, False, True, False, True, False, True, False, False, False],
                 css_class="listing", nowrap=(0, 1), source="results/clinical/labs.tsv")


def comments_table(patients: pd.DataFrame, labs: pd.DataFrame) -> Table:
    """Distinct free-text comments (a laboratory comment repeated on several rows of a
    patient is shown once, with its first date and number of rows)."""
    rows = [[r["patient_id"], "patient record", F.MISSING, F.MISSING, F.fmt_text(r["comment"])]
            for _, r in patients.sort_values("patient_id", kind="stable").iterrows()
            if not F.is_missing(r["comment"])]
    lab = labs[labs["comment"].astype(str).str.strip() != ""]
    grouped = lab.groupby(["patient_id", "comment"], sort=True).agg(
        first=("date", "min"), n=("date", "size")).reset_index()
    grouped = grouped.sort_values(["patient_id", "first"], kind="stable")
    rows += [[r["patient_id"], "laboratory", F.fmt_date(r["first"]), F.fmt_count(r["n"]),
              F.fmt_text(r["comment"])] for _, r in grouped.iterrows()]
    return Table("comments", "Listing A3. Free-text comments (printed verbatim, as text)",
                 ["Patient", "Source", "First date", "Rows", "Comment"], rows,
                 numeric=[False, False, False, True, False], css_class="listing", nowrap=(0, 2),
                 source="results/clinical/patients.tsv, results/clinical/labs.tsv")


def qc_table(qc: pd.DataFrame, fmt: Fmt) -> Table:
    header = ["Sample", "Patient", "Visit", "Day", "Tube", "Events acquired", "Events kept",
              "Kept (%)", "QC flag"]
    rows = [[r["sample_id"], r["patient_id"], F.fmt_text(r["visit"]), F.fmt_count(r["day"]),
             F.fmt_text(r["tube"]), F.fmt_count(r["events_acquired"]),
             F.fmt_count(r["events_kept"]), F.fmt_number(r["percent_kept"], fmt.percent),
             F.fmt_text(r["qc_flag"])]
            for _, r in qc.iterrows()]
    return Table("cytometry_qc", "Listing 3. Cytometry sample quality control", header, rows,
                 numeric=[False, False, False, True, False, True, True, True, False],
                 css_class="listing", nowrap=(1,), source="results/cytometry/qc.tsv")


def flow_table(ard: ARD, fmt: Fmt, per_patient: bool = False) -> Table:
    """The ARD rows of the cytometry rules: the study-level rows (Appendix E of the
    report), or with ``per_patient`` each patient's rows (the listings document)."""
    flow = ard.frame[ard.frame["stat_id"].str.startswith("flow_")]
    frame = flow[flow["group"].map(is_pseudonym) == per_patient]
    # Each patient's rows are the rows the listings link to: printed as Appendix D
    # prints values (up to 6 decimals), so a printed rounding can be checked against them.
    decimals = 6 if per_patient else fmt.other
    def value(r: pd.Series) -> tuple[str, str]:
        # A study-level proportion as the report's tables print it (a percentage).
        if not per_patient and str(r["statistic"]).endswith("proportion"):
            return F.fmt_percent(r["value"], fmt.percent), "%"
        return F.fmt_auto(r["value"], decimals), r["unit"]

    rows = [[Cell(r["stat_id"], code=True), GROUP_LABELS.get(r["group"], r["group"]),
             Cell(r["statistic"], code=True), *value(r)] for _, r in frame.iterrows()]
    if per_patient:  # the rows the listings' per-patient cytometry table links to
        ids = [anchor((r["stat_id"], r["group"], r["statistic"])) for _, r in frame.iterrows()]
        return Table("flow_ard_patients", "Cytometry statistics of each patient (ARD rows of "
                     "the cytometry rules)", ["Statistic", "Patient", "Measure", "Value", "Unit"],
                     rows, numeric=[False, False, False, True, False], css_class="listing",
                     source="results/ard/ard.tsv", row_ids=ids)
    return Table("flow_ard", "Table E1. Cytometry statistics over the patients (ARD rows of the "
                 "cytometry rules)", ["Statistic", "Group", "Measure", "Value", "Unit"], rows,
                 numeric=[False, False, False, True, False], source="results/ard/ard.tsv",
                 note="Each patient's rows are in the listings document.")


def provenance_table(ard: ARD) -> Table:
    frame = ard.frame.groupby(["rule", "script", "inputs_sha256"], sort=True).size().reset_index(
        name="rows")
    rows = [[r["rule"], r["script"], r["inputs_sha256"][:16], F.fmt_count(r["rows"])]
            for _, r in frame.iterrows()]
    return Table("provenance", "Table B4. The rule and script behind the ARD rows",
                 ["Rule", "Script", "Inputs SHA-256 (first 16)", "ARD rows"], rows,
                 numeric=[False, False, False, True], source="results/ard/ard.tsv")


# --------------------------------------------------------------------------- auditor
AUDIT_STATUS = {"pass": "reproduced", "fail": "DIFFERS", "missing": "NOT COMPUTED"}


_CONFIG_KEY = re.compile(r"\b(?:response|statistics|cytometry|cleaning|report|data)"
                         r"(?:\.[a-z][a-z0-9_]*)+")


def config_value(cfg: Mapping[str, Any], key: str) -> Any:
    node: Any = cfg
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def value_words(key: str, value: Any) -> str:
    """A config value as a reader reads it: ``1%``, ``28 days``, ``[7, 28] days``."""
    if isinstance(value, (list, tuple)):
        text = F.EN_DASH.join(format(v, "g") if isinstance(v, (int, float)) else str(v)
                              for v in value)
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, (int, float)):
        text = format(value, "g")
    else:
        text = str(value).replace("_", " ")
    if key.endswith("_percent"):
        return f"{text}%"
    if key.endswith("_days"):
        return f"{text} days"
    return text


def with_config_values(text: str, cfg: Mapping[str, Any]) -> Cell:
    """``text`` with each config key it names replaced by the value in force: "below
    1%". The keys themselves are printed only in Table B6 (key, value, where used)."""
    parts: list[tuple[str, bool]] = []
    pos = 0
    for match in _CONFIG_KEY.finditer(text):
        key = match.group(0)
        value = config_value(cfg, key)
        parts.append((text[pos:match.start()], False))
        if value is None:
            parts.append((key, True))
        else:
            parts.append((value_words(key, value), False))
        pos = match.end()
    parts.append((text[pos:], False))
    return Cell(text, parts=tuple(p for p in parts if p[0]))


def claim_cell(ard: ARD, text: str, statistics: str) -> Cell:
    """A reproduced claim value whose every number links to the ARD row it was computed
    from (``stat/group/statistic``; for a list, ``value_*``, the items printed)."""
    printed = [n for n in numbers(text)]

    def read() -> str:
        for stat, group, statistic in parse_statistics(statistics):
            if statistic.endswith("_*"):  # a list: the items the text prints (it may be long)
                left = list(printed)
                for key in ard.series_keys(stat, group, statistic[:-2]):
                    hit = next((n for n in left if n.printed(ard.peek(key))), None)
                    if hit is not None:
                        left.remove(hit)
                        ard.get(*key)
            elif ard.has(stat, group, statistic):
                ard.get(stat, group, statistic)
        return text

    return ard.cell(read)


def published_rows(audit: pd.DataFrame) -> Rows:
    """The published value of each claim, as results/audit/claims.tsv holds it (row
    ``id / published``): what the published columns of Tables A and 11 link to."""
    long = audit.assign(statistic="published")
    return Rows(long, ["id", "statistic"], value_column="published", prefix="pub",
                source="results/audit/claims.tsv", text=True)


def published_cell(book: Rows | None, claim: str, text: str) -> Any:
    """A published value linked to its row of claims.tsv (plain text without one)."""
    if book is None or not book.contains(claim, "published") or \
            str(book.stored((claim, "published"))) != str(text):
        return text
    return book.cell(lambda: str(book.value(claim, "published")))


def audit_table(audit: pd.DataFrame, cfg: Mapping[str, Any], ard: ARD,
                published: Rows | None = None) -> Table:
    """Published versus reproduced (results/audit/claims.tsv), claim by claim; each
    reproduced value links to its ARD row, each published value to its row of
    claims.tsv (``published``: :func:`published_rows`, Table D2)."""
    rows = [[Cell(r["id"], code=True), published_cell(published, r["id"], r["published"]),
             claim_cell(ard, r["reproduced"], r.get("statistics", "")),
             AUDIT_STATUS.get(r["status"], r["status"]), with_config_values(r["definition"], cfg)]
            for _, r in audit.iterrows()]
    return Table("audit", "Table A. Published claims and the values this analysis reproduces",
                 ["Claim", "Published", "Reproduced", "Status", "Definition used"], rows,
                 numeric=[False] * 5, css_class="audit", nowrap=(0,), source="results/audit/claims.tsv",
                 input_columns=(4,),
                 note="Published: as printed in the abstract of Jalink et al., Blood Adv 2024, "
                      "or in the drug maker's summary (safety events). Reproduced: computed "
                      "from the raw data, read from the ARD and printed with the claim's "
                      "rounding rule (from the claims file named above). A claim that is not "
                      "computed counts as a failure.")


R_QC_MEASURES = [("ard_rows", "ARD rows"), ("compared", "Rows compared with R"),
                 ("coverage", "Coverage (rows compared / ARD rows)"),
                 ("agree", "Agreements"), ("disagree", "Disagreements"),
                 ("only_in_ard", "ARD rows without an R result"),
                 ("only_in_r", "R results without an ARD row"),
                 ("r_session", "R and packages")]


R_QC_SUMMARY = "results/qc/r_double_programming_summary.tsv"


def r_qc_rows(summary: pd.DataFrame) -> Rows:
    """The measures of results/qc/r_double_programming_summary.tsv (rule qc_r_compare)
    as Table C1 links to them (``measure / value``); the R session is text."""
    numeric = summary[summary["measure"] != "r_session"]
    return Rows(numeric.assign(column="value"), ["measure", "column"], prefix="rqc",
                source=R_QC_SUMMARY)


def r_qc_table(summary: pd.DataFrame, book: Rows | None = None) -> Table:
    """The independent double programming in R (results/qc/
    r_double_programming_summary.tsv): coverage and disagreements; with ``book``
    (:func:`r_qc_rows`) each number links to its row in Table D2."""
    values = dict(zip(summary["measure"], summary["value"]))

    def text(key: str) -> str:
        v = values.get(key, "")
        if key == "coverage":
            return F.MISSING if F.is_missing(v) or v == "" else F.fmt_percent(float(v), 1)
        return F.fmt_count(float(v)) if v != "" else F.MISSING

    def shown(key: str) -> Any:
        if key == "r_session":
            return str(values.get(key, ""))
        if book is None or values.get(key, "") == "" or not book.contains(key, "value"):
            return text(key)
        return book.cell(lambda: (book.value(key, "value"), text(key))[1])

    rows = [[label, shown(key)] for key, label in R_QC_MEASURES if key in values]
    return Table("r_qc", "Table C1. Independent QC: every ARD row recomputed in R",
                 ["Measure", "Value"], rows, numeric=[False, True], css_class="listing",
                 source="results/qc/r_double_programming.tsv",
                 note="Each row of the ARD is matched by its three keys (measure, group, "
                      "statistic) with the value an R programme of its own recomputes from "
                      "the analysis datasets (the ADaM Dataset-JSON files of results/adam/; "
                      "cytometry percentages from ADCYT's event counts) with survival's "
                      "survfit and quantile and binom.test; the build stops on a disagreement "
                      "or an unmatched row. Every row is in the source "
                      "table named here.")


QC_CHECKS = "results/qc/double_programming.tsv"


def qc_check_rows(qc: pd.DataFrame) -> Rows:
    """The second library's values of results/qc/double_programming.tsv (rule
    qc_double_programming) as Table C2 links to them: one row per statistic
    (``statistic / independent``)."""
    return Rows(qc.assign(column="independent"), ["statistic", "column"],
                value_column="independent", prefix="qc2", source=QC_CHECKS)


def qc_checks_table(qc: pd.DataFrame, fmt: Fmt, ard: ARD | None = None,
                    book: Rows | None = None) -> Table:
    """The library cross-check (results/qc/double_programming.tsv): the key statistics
    recomputed with a second Python library, both values and the status. Not the
    independent QC (that is :func:`r_qc_table`). With ``ard``, the primary value links
    to its ARD row (``stat/group/statistic``) in Appendix D; with ``book``
    (:func:`qc_check_rows`), the second library's value to its row in Table D2."""
    def value(v: Any) -> str:
        return F.fmt_auto(v, 6) if not F.is_missing(v) else "undefined"

    def primary(statistic: str, v: Any) -> Any:
        key = tuple(str(statistic).split("/"))
        if ard is None or len(key) != 3 or not ard.has(*key):
            return value(v)
        return ard.cell(lambda: (ard.get(*key), value(v))[1])

    def second(statistic: str, v: Any) -> Any:
        if book is None or F.is_missing(v) or not book.contains(str(statistic), "independent"):
            return value(v)
        return book.cell(lambda: (book.value(str(statistic), "independent"), value(v))[1])

    rows = [[Cell(r["statistic"], code=True), primary(r["statistic"], r["primary"]),
             second(r["statistic"], r["independent"]),
             F.MISSING if F.is_missing(r["abs_diff"]) else f"{float(r['abs_diff']):.1e}",
             r["status"]] for _, r in qc.iterrows()]
    return Table("qc_checks", "Table C2. Library cross-check (second Python library; "
                 "not the independent QC)",
                 ["Statistic", "Primary", "Second library", "Difference", "Status"], rows,
                 numeric=[False, True, True, True, False], css_class="listing", nowrap=(0,),
                 note="Primary: lifelines Kaplan-Meier, scipy Clopper-Pearson, the analysis "
                      "code's counts. Second library: statsmodels SurvfuncRight, the statsmodels "
                      "exact (beta) binomial interval, plain pandas counts. Undefined on both sides "
                      "(an empty group) counts as agreement.")


CONFIG_WORDS = {
    "response.pr_rule": "PR rule",
    "response.confirmation_min_days": "confirmation over (days)",
    "response.confirmation_reading": "confirmation read as",
    "response.acro_denominator": "acrocyanosis denominator",
    "response.ongoing_duration_origin": "ongoing durations counted from",
    "statistics.km_tie_rule": "Kaplan-Meier median at a tie",
    "statistics.km_ci_transform": "Kaplan-Meier CI transform",
    "statistics.dor_median_method": "median duration reported",
}
VALUE_WORDS = {"km": "Kaplan-Meier", "all_treated": "all treated", "efficacy_set": "efficacy set",
               "first_dose": "first dose", "and": "AND", "or": "OR",
               "r_survival": "as R survival", "log-log": "log(\u2212log)"}


def variant_label(change: str) -> str:
    """A variant's change in words: ``statistics.dor_median_method = km`` ->
    "median duration reported: Kaplan-Meier"."""
    if not change or change == "as configured":
        return "Primary analysis (as configured)"
    words = []
    for part in change.split("; "):
        key, _, value = part.partition(" = ")
        name = CONFIG_WORDS.get(key.strip(), key.strip().rsplit(".", 1)[-1].replace("_", " "))
        words.append(f"{name}: {VALUE_WORDS.get(value.strip(), value.strip().replace('_', ' '))}")
    return "; ".join(words)


def sensitivity_summary_rows(summary: pd.DataFrame) -> Rows:
    """The rows of results/sensitivity/summary.tsv as the report links to them: one per
    variant and count (``claims_reproduced``, ``claims_compared``)."""
    long = summary.melt(id_vars=["variant"], value_vars=["claims_reproduced", "claims_compared"],
                        var_name="statistic", value_name="value")
    return Rows(long, ["variant", "statistic"], prefix="sens",
                source="results/sensitivity/summary.tsv")


def sensitivity_claim_rows(claims: pd.DataFrame) -> Rows:
    """The rows of results/sensitivity/sensitivity.tsv (a claim under a variant: the
    value reproduced, as printed)."""
    return Rows(claims, ["variant", "id"], value_column="reproduced", prefix="sc",
                source="results/sensitivity/sensitivity.tsv", text=True)


def sensitivity_table_view(summary: pd.DataFrame, book: Rows | None = None) -> Table:
    """Which config variants reproduce the paper (results/sensitivity/summary.tsv); each
    count links to its row (``book``: :func:`sensitivity_summary_rows`)."""
    book = book if book is not None else sensitivity_summary_rows(summary)

    def counts(variant: str) -> str:
        done = book.value(variant, "claims_reproduced")
        of = book.value(variant, "claims_compared")
        return f"{F.fmt_count(float(done))} of {F.fmt_count(float(of))}"

    rows = [[variant_label(r["change"]), book.cell(lambda v=r["variant"]: counts(v))]
            for _, r in summary.iterrows()]
    return Table("sensitivity", "Table 10. Sensitivity analyses: the configuration variants and "
                 "how many published clinical claims each reproduces",
                 ["Variant (its change from the configuration)", "Claims reproduced"],
                 rows, numeric=[False, True], css_class="listing", nowrap=(1,),
                 source="results/sensitivity/summary.tsv",
                 input_columns=(0,),
                 note="KM: Kaplan-Meier; PR: partial response. Each variant reruns response "
                      "scoring, statistics and the claims audit with the change shown; the "
                      "configuration overrides of every variant are in Table B6. Each "
                      "count links to its row in Table D2.")


def sensitivity_claims_table(claims: pd.DataFrame, book: Rows | None = None,
                             published: Rows | None = None) -> Table:
    """Each claim's value under each variant (results/sensitivity/sensitivity.tsv): the
    primary value, and every variant giving another value, by name; each value links
    to its row (``book``: :func:`sensitivity_claim_rows`)."""
    book = book if book is not None else sensitivity_claim_rows(claims)
    primary = claims[claims["variant"] == "primary"]
    rows = []
    for _, p in primary.iterrows():
        others = claims[(claims["id"] == p["id"]) & (claims["variant"] != "primary")]
        differ = others[others["reproduced"] != p["reproduced"]]

        pieces: list[Cell | str] = []
        for k, (_, r) in enumerate(differ.iterrows()):
            # The variant's label (its change, which may hold numbers) is not linked.
            pieces += ["; " if k else "", f"{variant_label(r['change'])}: ",
                       book.cell(lambda r=r: str(book.value(r["variant"], r["id"])))]
        same = len(others) - len(differ)
        other = joined(pieces)
        rows.append([Cell(p["id"], code=True), published_cell(published, p["id"], p["published"]),
                     book.cell(lambda p=p: str(book.value("primary", p["id"]))),
                     other if str(other) else "none",
                     "all" if same == len(others) else f"{same} of {len(others)}"])
    return Table("sensitivity_claims", "Table 11. Each published claim under each variant",
                 ["Claim", "Published", "Primary analysis", "Variants giving another value "
                  "(variant: value)", "Variants giving the primary value"], rows,
                 numeric=[False, False, False, False, True], css_class="listing",
                 nowrap=(0,), source="results/sensitivity/sensitivity.tsv",
                 note="Variants are named by their change from the configuration (Table 10). "
                      "Values are printed with each claim's rounding rule; each links to its "
                      "row in Table D2.")


# The key statistics of each group under each variant (results/sensitivity/
# key_statistics.tsv): column header, stat_id and how it is printed.
_KEY_SHARED = [("Median DoR, crude, months", "dor_median_crude", "months"),
               ("Median DoR, Kaplan-Meier, months", "dor_median_km", "months"),
               ("Ongoing at data cut-off, n/N", "ongoing", "ratio")]
KEY_STATISTICS_COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    "wAIHA": [("Overall response (CR + PR), n/N (%)", "orr", "n_of_N"),
              ("Complete response, n/N (%)", "cr", "n_of_N"), *_KEY_SHARED],
    "cAIHA": [("Hb response, n/N (%)", "hb_response", "n_of_N"), *_KEY_SHARED],
}
KEY_STATISTICS_NUMBER = 9


def _number(value: Any) -> float:
    """A value of a results table read as text ("" is missing) or as a number."""
    return float("nan") if F.is_missing(value) or str(value) == "" else float(value)


def key_statistic_text(values: Mapping[str, Any], kind: str, fmt: Fmt) -> str:
    """One key statistic as printed, from its rows (statistic -> value): ``n_of_N``
    ``6/12 (50.0%)``, ``ratio`` ``2/12``, ``months`` ``5.0`` or "not reached"; an
    absent statistic (no responder: no duration) is the dash."""
    if kind == "months":
        return F.MISSING if "value" not in values else \
            F.fmt_months(_number(values["value"]), fmt.months, unit=False)
    if "numerator" not in values:
        return F.MISSING
    num, den = _number(values["numerator"]), _number(values["denominator"])
    if kind == "n_of_N":
        return F.fmt_n_of_N(num, den, fmt.percent)
    return f"{F.fmt_count(num)}/{F.fmt_count(den)}"


def key_statistics_rows(keys: pd.DataFrame) -> Rows:
    """The rows of results/sensitivity/key_statistics.tsv (variant, stat_id, group,
    statistic: value) as the report links to them."""
    return Rows(keys, ["variant", "stat_id", "group", "statistic"], prefix="ks",
                source="results/sensitivity/key_statistics.tsv")


_KEY_ORDER = ("numerator", "denominator", "proportion", "value")


def key_statistics_tables(keys: pd.DataFrame, groups: Sequence[str], fmt: Fmt,
                          book: Rows | None = None) -> dict[str, Table]:
    """Table 9 (9a, 9b: one per group): the key statistics of each group with patients
    (``groups``, e.g. ``present_groups``) under each variant, a row per variant in the
    order of results/sensitivity/key_statistics.tsv (the primary analysis first). A value
    printed differently from the primary analysis's is set in bold. Each number links to
    its row of key_statistics.tsv (``book``: :func:`key_statistics_rows`; Table D2)."""
    book = book if book is not None else key_statistics_rows(keys)
    shown = [g for g in KEY_STATISTICS_COLUMNS if g in groups]
    variants = list(dict.fromkeys(keys["variant"]))
    present: dict[tuple[str, str, str], list[str]] = {}
    changes: dict[str, str] = {}
    for r in keys.itertuples():
        present.setdefault((r.variant, r.stat_id, r.group), []).append(r.statistic)
        changes.setdefault(r.variant, r.change)

    def text(variant: str, stat: str, group: str, kind: str) -> str:
        names = present.get((variant, stat, group), [])
        ordered = [n for n in _KEY_ORDER if n in names] + [n for n in names if n not in _KEY_ORDER]
        values = {n: book.value(variant, stat, group, n) for n in ordered}
        return key_statistic_text(values, kind, fmt)

    out: dict[str, Table] = {}
    for k, group in enumerate(shown):
        columns = KEY_STATISTICS_COLUMNS[group]
        rows: list[list[Any]] = []
        first: list[str] = []
        for variant in variants:
            cells = [book.cell(lambda v=variant, s=stat, kd=kind: text(v, s, group, kd))
                     for _, stat, kind in columns]
            texts = [str(c) for c in cells]
            first = first or texts
            rows.append([variant_label(changes[variant])] +
                        [dataclasses.replace(c, emphasis=t != p)
                         for c, t, p in zip(cells, texts, first)])
        letter = "abcdefgh"[k] if len(shown) > 1 else ""
        out[f"key_statistics_{group}"] = Table(
            f"key_statistics_{group}",
            f"Table {KEY_STATISTICS_NUMBER}{letter}. Key statistics under each variant: "
            f"{GROUP_LABELS[group]}",
            ["Variant", *(h for h, _, _ in columns)], rows,
            source="results/sensitivity/key_statistics.tsv",
            note=f"As Table {KEY_STATISTICS_NUMBER}a: rows, bold and abbreviations." if k else
                 "Each variant reruns the response scoring and the statistics with the "
                 "change shown; the first row is the primary analysis (the values of "
                 "Table 4). Bold: printed differently from the primary analysis. "
                 "DoR: duration of response; CR: complete response; PR: partial response; "
                 "Hb: hemoglobin. Ongoing: responses ongoing at the data "
                 "cut-off, of the patients of the group. \u2014: no responder, no duration.")
    return out


def key_statistics_reference(tables: Mapping[str, Table]) -> str:
    """"Table 9" or "Tables 9a and 9b": how the text names the key-statistics tables."""
    numbers = [t.caption.split(".")[0].removeprefix("Table ") for t in tables.values()]
    if len(numbers) <= 1:
        return f"Table {KEY_STATISTICS_NUMBER}"
    return "Tables " + ", ".join(numbers[:-1]) + " and " + numbers[-1]


def raw_files_table(raw_inputs: Mapping[str, str]) -> Table:
    """Every raw input file and its SHA-256 (results/raw_inputs.tsv), for the listings."""
    rows = [[path, digest] for path, digest in sorted(raw_inputs.items())]
    return Table("raw_files", "Raw input files", ["File", "SHA-256"], rows,
                 numeric=[False, False], css_class="listing mono",
                 source="results/raw_inputs.tsv")


def config_rows(config: Mapping[str, Any]) -> list[list[str]]:
    """Rows of Table B1 for the config: each file merged, in order, each ``--config``
    override, and the SHA-256 of the merged config in force."""
    if "in_force" not in config:  # provenance.json of an older build
        return [[f"Config {config.get('file', '')}", f"SHA-256 {config.get('sha256', '')}"]]
    rows = [[f"Config file {i} merged" if len(config["files"]) > 1 else "Config file",
             f"{f['path']} (SHA-256 {f['sha256']})"]
            for i, f in enumerate(config["files"], start=1)]
    rows += [["Config override (--config)", f"{k}={v}"]
             for k, v in sorted(dict(config.get("overrides") or {}).items())]
    rows.append(["Config in force (merged)",
                 f"{config['in_force']['file']} (SHA-256 {config['in_force']['sha256']})"])
    return rows


def provenance_tables(record: Mapping[str, Any]) -> dict[str, Table]:
    """The build (commit, versions, cut-off), raw input hashes and package versions."""
    git = record.get("git", {})
    dirty = git.get("dirty")
    build = [
        ["Git commit", str(git.get("commit", "unknown"))],
        ["Working tree", "unknown" if dirty is None else ("dirty" if dirty else "clean")],
        ["Snakemake", str(record.get("snakemake", ""))],
        ["Data cut-off", str(record.get("data_cutoff", ""))],
        *config_rows(record.get("config", {})),
    ]
    study_files = [[f["role"], f["path"], f["sha256"]] for f in record.get("input_files", [])]
    key = (record.get("pseudonym_key") or {}).get("fingerprint")
    if key:
        study_files.append(["pseudonym key (fingerprint)", "not printed",
                            key])
    inputs = [[folder + "/", F.fmt_count(v["files"]), v["sha256"]]
              for folder, v in sorted(record.get("raw_input_folders", {}).items())]
    packages = sorted(record.get("packages", {}).items())
    per_column = (len(packages) + 2) // 3
    cols = [packages[i * per_column:(i + 1) * per_column] for i in range(3)]
    pkg_rows = []
    for i in range(per_column):
        row: list[str] = []
        for col in cols:
            name, version = col[i] if i < len(col) else ("", "")
            row += [name, version]
        pkg_rows.append(row)
    return {
        "build": Table("build", "Table B1. Build", ["Item", "Value"], build,
                       numeric=[False, False], css_class="listing", source="results/provenance.json"),
        "inputs": Table("raw_inputs", "Table B2. Raw inputs, per folder",
                        ["Folder", "Files", "SHA-256 of the folder's listing"], inputs,
                        numeric=[False, True, False], css_class="listing mono",
                        source="results/provenance.json",
                        note="The digest of a folder is that of its sha256sum listing (one "
                             "line per file, digest and path, sorted by path): "
                             "sha256sum FILES | sha256sum gives it. Each file's own digest "
                             "is in results/provenance.json and in the listings document."),
        "study_files": Table("study_files", "Table B3. Gating, claims, site profiles and "
                             "pseudonym key", ["Role", "File", "SHA-256"], study_files,
                             numeric=[False, False, False], css_class="listing mono",
                             source="results/provenance.json",
                             note="The key itself is never written: its fingerprint is "
                                  "HMAC-SHA256 under the key of a fixed message ("
                                  + str((record.get("pseudonym_key") or {}).get("method", ""))
                                  + "), which identifies the key without revealing it."),
        "packages": Table("packages", "Table B5. Installed packages (resolved versions)",
                          ["Package", "Version"] * 3, pkg_rows, numeric=[False] * 6,
                          css_class="listing keep",
                          note="In alphabetical order down each pair of columns.", source="results/provenance.json"),
    }




def rows_appendix_table(books: Sequence[Rows],
                        printed: Mapping[str, Sequence[tuple[str, str]]]) -> Table:
    """Table D2: every row of the results tables other than the ARD that the report
    printed (the published values of the claims; the sensitivity analyses: key
    statistics, claim counts and claim values under each variant), each the target of the links on the numbers it gave and with
    links back to the tables that print it (``printed``: :func:`~aiha.report.model.printed_in`)."""
    rows, ids = [], []
    for book in books:
        for key in book.used:
            value = book.stored(key)
            rows.append([Cell(book.source.rsplit("/", 1)[-1], code=True),
                         Cell(" / ".join(key), code=True),
                         value if isinstance(value, str) else
                         F.fmt_number(value, 0) if math.isinf(value) else F.fmt_auto(value, 6),
                         back_links(printed.get(book.anchor(key), ()))])
            ids.append(book.anchor(key))
    return Table("result_rows", "Table D2. Rows of the other results tables printed in "
                 "this report", ["Results table", "Row (variant / key)", "Value",
                                            "Printed in (table)"], rows,
                 numeric=[False, False, False, False], css_class="listing rows wbr", row_ids=ids,
                 source=", ".join(dict.fromkeys(b.source for b in books if b.used)),
                 note="Each published value (Tables A and 11), each number of Tables 9 "
                      "to 11 and of the FlowJo reconciliation (Table R, when the gates are "
                      "a FlowJo workspace's) links to its row here. Row: the claim and its "
                      "published value; the variant, then the statistic, group and measure "
                      "(key statistics), the count (claims compared or reproduced) or the "
                      "claim; the gate type and the column.")
