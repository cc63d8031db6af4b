"""The study report: template context from the ARD and results tables, HTML, PDF.

Every number printed comes from ``results/ard/ard.tsv`` or a results table (see
docs/tables.md) through :mod:`aiha.formatting`; the template holds no number of its
own, and the methods text quotes the configuration in force.

Security (the HTML carries patient-derived free text):
- jinja2 with ``autoescape=True`` (``select_autoescape`` misses ``.j2``); free text is
  never placed in ``href``/``src``/``style``;
- weasyprint fetches through :class:`AssetURLFetcher`, which serves only files under
  the staged asset directory at the fixed base URL ``file:///report/`` (plus inline
  ``data:image/png`` / ``data:image/jpeg`` inside SVG figures) and stops the render on
  anything else.

Reproducibility: ``SOURCE_DATE_EPOCH`` (fontTools subsetting), the ``dcterms`` dates
and the PDF identifier are all derived from the data cut-off and the inputs, so the
same inputs give the same PDF bytes wherever the project lives.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import jinja2
import pandas as pd

from aiha import formatting as F
import json

from aiha.ard import file_sha256, read_ard, read_text_tsv

ASSET_BASE_URL = "file:///report/"
GROUPS = ["wAIHA", "cAIHA", "cAIHA_nonanemic", "all"]
GROUP_LABELS = {
    "wAIHA": "wAIHA",
    "cAIHA": "cAIHA (anemic)",
    "cAIHA_nonanemic": "cAIHA (non-anemic)",
    "all": "All treated",
}
CLINICAL_FIGURES = {
    "swimmer": "swimmer.svg",
    "hb_trajectories": "hb_trajectories.svg",
    "km_dor": "km_dor.svg",
}
CYTOMETRY_FIGURES = ["gating_strategy", "cd38_timecourse", "tcell_subsets", "proliferation"]
CONTENT_TYPES = {
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
}
FONT_FILES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf"]
_DATA_IMAGE = re.compile(r"^data:(image/(?:png|jpeg));base64,([A-Za-z0-9+/=\s]*)$", re.S)


# --------------------------------------------------------------------------- fetcher
def _weasyprint() -> Any:
    import weasyprint

    return weasyprint


class AssetRefused(Exception):
    """A URL the report may not fetch (reason in the message)."""


def _make_fetcher_class() -> type:
    wp = _weasyprint()
    from weasyprint.urls import FatalURLFetchingError, URLFetcherResponse

    class RefusedURLError(FatalURLFetchingError):
        """Raised inside weasyprint: fatal, so the render stops."""

    class _AssetURLFetcher(wp.URLFetcher):  # type: ignore[misc, name-defined]
        """Serve files under ``asset_dir`` at ``file:///report/``; refuse all else."""

        def __init__(self, asset_dir: str | os.PathLike[str]) -> None:
            super().__init__(allowed_protocols=("file", "data"), allow_redirects=False,
                             fail_on_errors=True, timeout=1)
            self.asset_dir = Path(asset_dir).resolve()
            self.served: list[str] = []
            self.refused: list[str] = []

        def resolve(self, url: str) -> Path:
            """The file under the asset directory that ``url`` names, or AssetRefused."""
            if not url.startswith(ASSET_BASE_URL):
                raise AssetRefused(f"outside {ASSET_BASE_URL}: {url[:200]!r}")
            parts = urlsplit(url)
            if parts.query or parts.netloc:
                raise AssetRefused(f"query or host not allowed: {url[:200]!r}")
            rel = unquote(parts.path).removeprefix("/report/")
            pure = PurePosixPath(rel)
            if (not rel or "\\" in rel or "\0" in rel or pure.is_absolute()
                    or any(p in ("..", ".", "") for p in pure.parts)):
                raise AssetRefused(f"bad asset path: {url[:200]!r}")
            path = (self.asset_dir / pure).resolve()
            if not path.is_relative_to(self.asset_dir) or not path.is_file():
                raise AssetRefused(f"no such asset: {url[:200]!r}")
            return path

        def fetch(self, url: str, headers: Any = None) -> Any:
            try:
                match = _DATA_IMAGE.match(url) if url.startswith("data:") else None
                if match:
                    body = base64.b64decode(re.sub(r"\s", "", match.group(2)), validate=True)
                    self.served.append(url[:40])
                    return URLFetcherResponse(url, body, {"Content-Type": match.group(1)})
                path = self.resolve(url)
            except (AssetRefused, ValueError) as error:
                self.refused.append(url)
                raise RefusedURLError(f"report asset refused: {error}") from error
            self.served.append(url)
            ctype = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": ctype})

    _AssetURLFetcher.RefusedURLError = RefusedURLError  # type: ignore[attr-defined]
    return _AssetURLFetcher


_FETCHER_CLASS: type | None = None


def AssetURLFetcher(asset_dir: str | os.PathLike[str]) -> Any:  # noqa: N802
    """A ``weasyprint.URLFetcher`` serving only ``asset_dir`` at ``file:///report/``.

    Refusal raises a subclass of ``weasyprint.urls.FatalURLFetchingError`` (the render
    stops); weasyprint is imported on first use only.
    """
    global _FETCHER_CLASS
    if _FETCHER_CLASS is None:
        _FETCHER_CLASS = _make_fetcher_class()
    return _FETCHER_CLASS(asset_dir)


# --------------------------------------------------------------------------- inputs


class ARD:
    """Lookups into the ARD with a clear error naming what is missing."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._index: dict[tuple[str, str, str], list[float]] = {}
        for sid, grp, stat, val in zip(frame["stat_id"], frame["group"], frame["statistic"],
                                       frame["value"]):
            self._index.setdefault((sid, grp, stat), []).append(float(val))

    def has(self, stat_id: str, group: str, statistic: str | None = None) -> bool:
        if statistic is None:
            return any(k[0] == stat_id and k[1] == group for k in self._index)
        return (stat_id, group, statistic) in self._index

    def get(self, stat_id: str, group: str, statistic: str) -> float:
        hits = self._index.get((stat_id, group, statistic), [])
        if len(hits) != 1:
            raise KeyError(f"ARD has {len(hits)} rows for {stat_id}/{group}/{statistic}")
        return hits[0]

    def opt(self, stat_id: str, group: str, statistic: str) -> float:
        """Like :meth:`get`, NaN when absent (a group a statistic does not apply to)."""
        return self.get(stat_id, group, statistic) if self.has(stat_id, group, statistic) \
            else float("nan")

    def series(self, stat_id: str, group: str, prefix: str) -> list[float]:
        """``value_1``, ``value_2`` ... in numeric order of the suffix."""
        keys = [k for k in self._index if k[0] == stat_id and k[1] == group
                and re.fullmatch(rf"{re.escape(prefix)}_\d+", k[2])]
        keys.sort(key=lambda k: int(k[2].rsplit("_", 1)[1]))
        return [self.get(*k) for k in keys]


# --------------------------------------------------------------------------- tables
@dataclass
class Table:
    """A table as printed: header and rows of already formatted strings."""

    key: str
    caption: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""
    numeric: list[bool] = field(default_factory=list)
    css_class: str = ""
    nowrap: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.header):
                raise ValueError(f"table {self.key}: row {row} does not fit {self.header}")
        if not self.numeric:
            self.numeric = [False] + [True] * (len(self.header) - 1)

    def cell_class(self, column: int) -> str:
        """CSS class of a column: ``num`` (right-aligned), ``nowrap`` or none."""
        classes = (["num"] if self.numeric[column] else []) + \
            (["nowrap"] if column in self.nowrap else [])
        return " ".join(classes)


def compact(value: float, max_decimals: int = 1) -> str:
    """Whole numbers without decimals, others with ``max_decimals`` (ages, months)."""
    if F.is_missing(value):
        return F.MISSING
    return F.fmt_number(value, 0 if float(value) == round(float(value)) else max_decimals)


def n_pct(n: float, proportion: float, decimals: int) -> str:
    """``4 (66.7%)``."""
    if F.is_missing(n):
        return F.MISSING
    return f"{F.fmt_count(n)} ({F.fmt_percent(proportion, decimals)})"


@dataclass(frozen=True)
class Fmt:
    """Decimals in force (config ``report.decimals``)."""

    percent: int = 1
    hb: int = 1
    ldh: int = 1
    months: int = 1
    other: int = 2

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> Fmt:
        return cls(**dict(cfg.get("report", {}).get("decimals", {})))


def _median_range(ard: ARD, stat: str, group: str, decimals: int | None) -> str:
    med, lo, hi = (ard.opt(stat, group, s) for s in ("median", "min", "max"))
    if decimals is None:
        if all(F.is_missing(v) for v in (med, lo, hi)):
            return F.MISSING
        return f"{compact(med)} ({F.fmt_range(*_compact_pair(lo, hi))})"
    return F.fmt_median_range(med, lo, hi, decimals)


def _compact_pair(lo: float, hi: float) -> tuple[float, float, int]:
    whole = all(F.is_missing(v) or float(v) == round(float(v)) for v in (lo, hi))
    return lo, hi, 0 if whole else 1


def present_groups(ard: ARD) -> list[str]:
    """The analysis groups with at least one treated patient (``all`` last)."""
    return [g for g in GROUPS if ard.has("n_treated", g, "n") and ard.get("n_treated", g, "n") > 0]


def empty_groups_note(ard: ARD, groups: Sequence[str]) -> str:
    """"cAIHA (anemic): no patients." for each of ``groups`` without a treated patient."""
    empty = [GROUP_LABELS[g] for g in groups if g not in present_groups(ard)]
    return " ".join(f"{label}: no patients." for label in empty)


def _join_notes(*parts: str) -> str:
    return " ".join(p for p in parts if p)


def baseline_table(ard: ARD, fmt: Fmt) -> Table:
    """Table 1: baseline characteristics by analysis group (groups with patients)."""
    groups = present_groups(ard)
    header = ["Characteristic"] + [
        f"{GROUP_LABELS[g]} (n = {F.fmt_count(ard.get('n_treated', g, 'n'))})" for g in groups
    ]
    rows: list[list[str]] = []

    def row(label: str, fn: Callable[[str], str]) -> None:
        rows.append([label] + [fn(g) for g in groups])

    row("Patients treated, n", lambda g: F.fmt_count(ard.get("n_treated", g, "n")))
    row("In the efficacy set, n", lambda g: F.fmt_count(ard.opt("n_efficacy", g, "n")))
    row("Age at first dose, years, median (range)", lambda g: _median_range(ard, "age", g, None))
    row("Female sex, n (%)", lambda g: n_pct(ard.get("sex_female", g, "n"),
                                             ard.get("sex_female", g, "proportion"), fmt.percent))
    row("Prior treatment lines, median (range)",
        lambda g: _median_range(ard, "prior_lines", g, None))
    if "wAIHA" in groups:
        row("Evans syndrome, n", lambda g: F.fmt_count(ard.opt("evans", g, "n")))
    if "cAIHA" in groups or "cAIHA_nonanemic" in groups:
        row("Acrocyanosis, n", lambda g: F.fmt_count(ard.opt("acrocyanosis", g, "n")))
    row("Baseline Hb, g/dL, median (range)",
        lambda g: _median_range(ard, "baseline_hb", g, fmt.hb))
    row("Baseline LDH, \u00d7 ULN, median (range)",
        lambda g: _median_range(ard, "baseline_ldh", g, fmt.ldh))
    n_na = ard.opt("n_treated", "cAIHA_nonanemic", "n")
    outside = ("" if F.is_missing(n_na) or n_na == 0 else
               f"The non-anemic cAIHA {'patient was' if n_na == 1 else 'patients were'} "
               "treated but outside the efficacy set.")
    return Table("baseline", "Table 1. Baseline characteristics by analysis group", header, rows,
                 note=_join_notes("Efficacy set: wAIHA and anemic cAIHA.", outside,
                                  empty_groups_note(ard, GROUPS[:3]),
                                  "\u2014: not applicable or not measured."))


def _n_of_N(ard: ARD, stat: str, group: str, fmt: Fmt) -> str:
    if not ard.has(stat, group, "numerator"):
        return F.MISSING
    if ard.get(stat, group, "denominator") == 0:
        return "no patients"
    return F.fmt_n_of_N(ard.get(stat, group, "numerator"), ard.get(stat, group, "denominator"),
                        fmt.percent)


def _prop_ci(ard: ARD, stat: str, group: str, fmt: Fmt, level: float) -> str:
    if ard.opt(stat, group, "denominator") == 0:
        return "no patients"
    return (f"{_n_of_N(ard, stat, group, fmt)}; "
            f"{F.fmt_ci(ard.get(stat, group, 'ci_lower'), ard.get(stat, group, 'ci_upper'), fmt.percent, level)}")


def _km_median(ard: ARD, group: str, fmt: Fmt, level: float) -> str:
    if not ard.has("dor_median_km", group, "value"):
        return F.MISSING
    med = ard.get("dor_median_km", group, "value")
    lo, hi = ard.opt("dor_median_km", group, "ci_lower"), ard.opt("dor_median_km", group, "ci_upper")
    ci = F.fmt_ci(lo, hi, fmt.months, level, percent=False)
    return f"{F.fmt_months(med, fmt.months)} ({ci})"


def _months_opt(ard: ARD, stat: str, group: str, fmt: Fmt) -> str:
    if not ard.has(stat, group, "value"):
        return F.MISSING
    return F.fmt_months(ard.get(stat, group, "value"), fmt.months)


def _dor_range(ard: ARD, group: str) -> str:
    if not ard.has("dor_min", group, "value"):
        return F.MISSING
    lo, hi, dec = _compact_pair(ard.get("dor_min", group, "value"),
                                ard.get("dor_max", group, "value"))
    return f"{F.fmt_range(lo, hi, dec)} months"


def _ongoing_durations(ard: ARD, group: str) -> str:
    values = ard.series("ongoing_duration", group, "value")
    if not values:
        return F.MISSING
    return ", ".join(compact(v) for v in values) + " months"


def response_table(ard: ARD, fmt: Fmt, cfg: Mapping[str, Any]) -> Table:
    """Response and duration of response by group (from the ARD): a column per group
    with patients, a row per outcome that applies to one of them."""
    level = float(cfg["statistics"]["ci_level"])
    cols = [g for g in ("wAIHA", "cAIHA", "cAIHA_nonanemic") if g in present_groups(ard)]
    na = F.MISSING

    def only(group: str, text: Callable[[], str]) -> list[str]:
        return [text() if g == group else na for g in cols]

    def each(fn: Callable[[str], str]) -> list[str]:
        return [fn(g) for g in cols]

    def ongoing(g: str) -> str:
        if not ard.has("ongoing", g, "numerator"):
            return na
        return (f"{F.fmt_count(ard.get('ongoing', g, 'numerator'))}/"
                f"{F.fmt_count(ard.get('ongoing', g, 'denominator'))}")

    candidates = [
        ["Overall response (CR + PR), n/N (%)", *only("wAIHA", lambda: _prop_ci(ard, "orr", "wAIHA", fmt, level))],
        ["Complete response, n/N (%)", *only("wAIHA", lambda: _n_of_N(ard, "cr", "wAIHA", fmt))],
        ["Partial response, n/N (%)", *only("wAIHA", lambda: _n_of_N(ard, "pr", "wAIHA", fmt))],
        ["Hb response, n/N (%)", *only("cAIHA", lambda: _prop_ci(ard, "hb_response", "cAIHA", fmt, level))],
        ["Median duration of response, crude", *each(lambda g: _months_opt(ard, "dor_median_crude", g, fmt))],
        ["Median duration of response, Kaplan-Meier", *each(lambda g: _km_median(ard, g, fmt, level))],
        ["Range of response duration", *each(lambda g: _dor_range(ard, g))],
        ["Responses ongoing at data cut-off, n/N", *each(ongoing)],
        ["Durations of ongoing responses", *each(lambda g: _ongoing_durations(ard, g))],
        ["Nonresponders with Evans syndrome, n/N (%)", *only("wAIHA", lambda: _n_of_N(ard, "nr_evans", "wAIHA", fmt))],
        ["Acrocyanosis improved, n/N (%)", *only("cAIHA", lambda: _n_of_N(ard, "acro_improved", "cAIHA", fmt))],
        ["Acrocyanosis response, n/N (%)", *only("cAIHA_nonanemic", lambda: _n_of_N(ard, "nonanemic_acro_response", "cAIHA_nonanemic", fmt))],
        ["Hb increase from baseline, n/N (%)", *only("cAIHA_nonanemic", lambda: _n_of_N(ard, "nonanemic_hb_increase", "cAIHA_nonanemic", fmt))],
        ["Best Hb change from baseline, g/dL, median", *only("cAIHA_nonanemic", lambda: F.fmt_number(ard.opt("nonanemic_hb_change", "cAIHA_nonanemic", "median"), fmt.hb))],
    ]
    rows = [r for r in candidates if any(cell != na for cell in r[1:])]
    has_responders = any(ard.has("dor_min", g, "value") for g in cols)
    notes = [empty_groups_note(ard, ("wAIHA", "cAIHA", "cAIHA_nonanemic"))]
    if cols and not has_responders:
        notes.append("No patient responded: no duration of response.")
    notes.append("Confidence intervals: exact Clopper-Pearson for proportions"
                 + (f", {KM_CI_WORDS[_ci_transform(cfg)]} for the Kaplan-Meier median"
                    if has_responders else "") + ".")
    if has_responders and "wAIHA" in cols:
        notes.append(f"The median duration reported as the paper's figure is the "
                     f"{MEDIAN_WORDS[cfg['statistics']['dor_median_method']]} "
                     f"(statistics.dor_median_method).")
    if ard.has("acro_improved", "cAIHA", "denominator") and "cAIHA" in cols:
        notes.append("Acrocyanosis improved: among "
                     + ("all treated cAIHA patients with acrocyanosis, non-anemic ones included"
                        if cfg["response"]["acro_denominator"] == "all_treated"
                        else "the anemic cAIHA patients with acrocyanosis")
                     + " (response.acro_denominator).")
    header = ["Outcome"] + [GROUP_LABELS[g] for g in cols]
    return Table("response", "Table 2. Response and duration of response", header, rows,
                 note=_join_notes(*notes))


KM_CI_WORDS = {"log-log": "log(\u2212log) transform", "log": "log transform",
               "plain": "untransformed (plain) interval"}
MEDIAN_WORDS = {"crude": "crude median", "km": "Kaplan-Meier median"}


def _ci_transform(cfg: Mapping[str, Any]) -> str:
    return str(cfg["statistics"].get("km_ci_transform", "log-log"))


def response_listing(responses: pd.DataFrame, fmt: Fmt) -> Table:
    """Per-patient response listing from responses.tsv."""
    header = ["Patient", "Group", "Baseline Hb (g/dL)", "Max Hb (g/dL)", "Hb change (g/dL)",
              "Best response", "Response date", "Relapse date (reason)", "Duration (months)",
              "Ongoing"]
    rows = []
    order = {g: i for i, g in enumerate(GROUPS)}
    frame = responses.assign(_o=responses["analysis_group"].map(order).fillna(99))
    frame = frame.sort_values(["_o", "patient_id"], kind="stable")
    for _, r in frame.iterrows():
        relapse = F.fmt_date(r["relapse_date"])
        if not F.is_missing(r["relapse_reason"]):
            relapse = f"{relapse} ({r['relapse_reason']})"
        rows.append([
            r["patient_id"], GROUP_LABELS.get(r["analysis_group"], r["analysis_group"]),
            F.fmt_number(r["baseline_hb"], fmt.hb), F.fmt_number(r["max_hb"], fmt.hb),
            F.fmt_number(r["hb_change"], fmt.hb), r["best_response"],
            F.fmt_date(r["response_date"]), relapse,
            F.fmt_number(r["duration_months"], fmt.months), F.fmt_bool(r["ongoing"]),
        ])
    return Table("response_listing", "Listing 1. Response per patient", header, rows,
                 numeric=[False, False, True, True, True, False, False, False, True, False],
                 css_class="listing new-page", nowrap=(0, 6))


def ae_grade_table(ard: ARD) -> Table:
    """Adverse events by worst CTCAE grade and group (events; groups with patients)."""
    groups = present_groups(ard)
    header = ["Worst CTCAE grade"] + [GROUP_LABELS[g] for g in groups]
    rows = [[f"Grade {k}"] + [F.fmt_count(ard.get("ae_grade", g, f"grade_{k}")) for g in groups]
            for k in range(1, 6) if ard.has("ae_grade", "all", f"grade_{k}")]
    rows.append(["All events"] + [F.fmt_count(ard.get("ae_events", g, "n")) for g in groups])
    rows.append(["Patients with \u2265 1 event"]
                + [F.fmt_count(ard.get("ae_patients", g, "n")) for g in groups])
    none = ard.opt("ae_events", "all", "n") == 0
    return Table("ae_grade", "Table 3. Adverse events by worst CTCAE v5 grade (events)", header,
                 rows, note=("No adverse event was reported." if none else
                             "Each event counts once, at the worst grade reported for it."))


def ae_listing(aes: pd.DataFrame, responses: pd.DataFrame) -> Table:
    """Adverse-event listing; the description is free text (escaped)."""
    group_of = dict(zip(responses["patient_id"], responses["analysis_group"]))
    header = ["Patient", "Group", "AE no.", "Onset date", "Day", "Term", "Worst grade", "Serious",
              "Reports", "Description"]
    frame = aes.sort_values(["onset_date", "patient_id", "ae_number"], kind="stable")
    rows = [[r["patient_id"], GROUP_LABELS.get(group_of.get(r["patient_id"], ""), F.MISSING),
             F.fmt_count(r["ae_number"]), F.fmt_date(r["onset_date"]), F.fmt_count(r["day"]),
             F.fmt_text(r["term"]), F.fmt_count(r["grade"]), F.fmt_bool(r["serious"]),
             F.fmt_count(r["reports"]), F.fmt_text(r["description"])]
            for _, r in frame.iterrows()]
    return Table("ae_listing", "Listing 2. Adverse events", header, rows,
                 numeric=[False, False, True, False, True, False, True, False, True, False],
                 css_class="listing", nowrap=(0, 3))


def _routine(reason: str, routine: Sequence[str]) -> str | None:
    for prefix in routine:
        if str(reason).startswith(prefix):
            return prefix
    return None


def cleaning_summary_table(log: pd.DataFrame, routine: Sequence[str]) -> Table:
    """Routine cleaning actions (config ``report.cleaning_log_routine``) counted, not listed."""
    kinds = [_routine(r, routine) for r in log["reason"]]
    counts: dict[str, int] = {}
    for kind in kinds:
        if kind is not None:
            counts[kind] = counts.get(kind, 0) + 1
    rows = [[kind, F.fmt_count(counts.get(kind, 0))] for kind in routine]
    rows.append(["listed individually (Listing A1)",
                 F.fmt_count(sum(1 for kind in kinds if kind is None))])
    return Table("cleaning_summary", "Table A1. Cleaning actions by kind (rows of the cleaning log)",
                 ["Action", "Rows"], rows)


def cleaning_table(log: pd.DataFrame, routine: Sequence[str] = ()) -> Table:
    """Cleaning-log rows other than the routine ones: corrections, duplicates, flags."""
    header = ["File", "Row", "Field", "Old value", "New value", "Reason"]
    rows = [[F.fmt_text(r["file"]), F.fmt_count(r["row"]), F.fmt_text(r["field"]),
             F.fmt_text(r["old"]), F.fmt_text(r["new"]), F.fmt_text(r["reason"])]
            for _, r in log.iterrows() if _routine(r["reason"], routine) is None]
    return Table("cleaning_log", "Listing A1. Cleaning log: corrected, removed and flagged values",
                 header, rows, numeric=[False, True, False, False, False, False],
                 css_class="listing")


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
                 css_class="listing", nowrap=(0, 1))


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
                 numeric=[False, False, False, True, False], css_class="listing", nowrap=(0, 2))


def qc_table(qc: pd.DataFrame, fmt: Fmt) -> Table:
    header = ["Sample", "Patient", "Visit", "Day", "Tube", "Events acquired", "Events kept",
              "Kept (%)", "QC flag"]
    rows = [[r["sample_id"], r["patient_id"], F.fmt_text(r["visit"]), F.fmt_count(r["day"]),
             F.fmt_text(r["tube"]), F.fmt_count(r["events_acquired"]),
             F.fmt_count(r["events_kept"]), F.fmt_number(r["percent_kept"], fmt.percent),
             F.fmt_text(r["qc_flag"])]
            for _, r in qc.iterrows()]
    return Table("cytometry_qc", "Table 5. Cytometry sample quality control", header, rows,
                 numeric=[False, False, False, True, False, True, True, True, False],
                 css_class="listing", nowrap=(1,))


def flow_table(ard: ARD, fmt: Fmt) -> Table:
    frame = ard.frame[ard.frame["stat_id"].str.startswith("flow_")]
    rows = [[r["stat_id"], r["group"], r["statistic"], F.fmt_auto(r["value"], fmt.other),
             r["unit"]] for _, r in frame.iterrows()]
    return Table("flow_ard", "Table 4. Cytometry statistics (flow_* rows of the ARD)",
                 ["Statistic", "Group", "Measure", "Value", "Unit"], rows,
                 numeric=[False, False, False, True, False])


def provenance_table(ard: ARD) -> Table:
    frame = ard.frame.groupby(["rule", "script", "inputs_sha256"], sort=True).size().reset_index(
        name="rows")
    rows = [[r["rule"], r["script"], r["inputs_sha256"][:16], F.fmt_count(r["rows"])]
            for _, r in frame.iterrows()]
    return Table("provenance", "Table B3. The rule and script behind the ARD rows",
                 ["Rule", "Script", "Inputs SHA-256 (first 16)", "ARD rows"], rows,
                 numeric=[False, False, False, True])


# --------------------------------------------------------------------------- auditor
AUDIT_STATUS = {"pass": "reproduced", "fail": "DIFFERS", "missing": "NOT COMPUTED"}


def audit_table(audit: pd.DataFrame) -> Table:
    """Published versus reproduced (results/audit/claims.tsv), claim by claim."""
    rows = [[r["id"], r["published"], r["reproduced"], AUDIT_STATUS.get(r["status"], r["status"]),
             r["definition"]] for _, r in audit.iterrows()]
    return Table("audit", "Table A. Published claims and the values this analysis reproduces",
                 ["Claim", "Published", "Reproduced", "Status", "Definition used"], rows,
                 numeric=[False] * 5, css_class="audit", nowrap=(0,),
                 note="Published: as printed in the abstract of Jalink et al., Blood Adv 2024, "
                      "or in the drug maker's summary (safety events). Reproduced: computed "
                      "from the raw data, read from the ARD and printed with the claim's "
                      "rounding rule (resources/published_claims.yaml). A claim that is not "
                      "computed counts as a failure.")


def qc_checks_table(qc: pd.DataFrame, fmt: Fmt) -> Table:
    """The independent QC (results/qc/double_programming.tsv): every statistic
    recomputed by a second implementation, both values and the status."""
    def value(v: Any) -> str:
        return F.fmt_auto(v, 6) if not F.is_missing(v) else "undefined"

    rows = [[r["statistic"], value(r["primary"]), value(r["independent"]),
             F.MISSING if F.is_missing(r["abs_diff"]) else f"{float(r['abs_diff']):.1e}",
             r["status"]] for _, r in qc.iterrows()]
    return Table("qc_checks", "Table C1. Independent QC: each statistic computed twice",
                 ["Statistic", "Primary", "Independent", "Difference", "Status"], rows,
                 numeric=[False, True, True, True, False], css_class="listing", nowrap=(0,),
                 note="Primary: lifelines Kaplan-Meier, scipy Clopper-Pearson, the analysis "
                      "code's counts. Independent: statsmodels SurvfuncRight, statsmodels "
                      "proportion_confint (beta), plain pandas counts. Undefined on both sides "
                      "(an empty group) counts as agreement.")


def sensitivity_table_view(summary: pd.DataFrame) -> Table:
    """Which config variants reproduce the paper (results/sensitivity/summary.tsv)."""
    rows = [[r["variant"], r["change"],
             f"{F.fmt_count(float(r['claims_reproduced']))} of {F.fmt_count(float(r['claims_compared']))}",
             r["differing"] or "none"] for _, r in summary.iterrows()]
    return Table("sensitivity", "Table 6. Sensitivity analyses: the clinical claims under each "
                 "configuration variant", ["Variant", "Change from config.yaml",
                                           "Claims reproduced", "Claims that differ (value)"],
                 rows, numeric=[False, False, True, False], css_class="listing", nowrap=(2,))


def provenance_tables(record: Mapping[str, Any]) -> dict[str, Table]:
    """The build (commit, versions, cut-off), raw input hashes and package versions."""
    git = record.get("git", {})
    dirty = git.get("dirty")
    build = [
        ["Git commit", str(git.get("commit", "unknown"))],
        ["Working tree", "unknown" if dirty is None else ("dirty" if dirty else "clean")],
        ["Snakemake", str(record.get("snakemake", ""))],
        ["Data cut-off", str(record.get("data_cutoff", ""))],
        [f"Config {record['config']['file']}", f"SHA-256 {record['config']['sha256']}"],
    ]
    inputs = [[path, digest] for path, digest in sorted(record.get("raw_inputs", {}).items())]
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
                       numeric=[False, False], css_class="listing"),
        "inputs": Table("raw_inputs", "Table B2. Raw inputs", ["File", "SHA-256"], inputs,
                        numeric=[False, False], css_class="listing mono"),
        "packages": Table("packages", "Table B4. Installed packages (resolved versions)",
                          ["Package", "Version"] * 3, pkg_rows, numeric=[False] * 6,
                          css_class="listing"),
    }


# --------------------------------------------------------------------------- context
def data_cutoff(cfg: Mapping[str, Any]) -> date:
    value = cfg["data"]["data_cutoff"]
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def source_date_epoch(cfg: Mapping[str, Any]) -> int:
    """Seconds since 1970 at midnight UTC of the data cut-off."""
    d = data_cutoff(cfg)
    return int(datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp())


def cfgnum(value: Any) -> str:
    """A configuration number as written (10.0 -> 10, 1e-09 -> 1e-09)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format(value, "g").replace("-", F.MINUS) if value < 0 else format(value, "g")
    return str(value)


def build_context(
    tables: Mapping[str, pd.DataFrame],
    cfg: Mapping[str, Any],
    provenance: Mapping[str, Any],
    digests: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Everything the template prints. ``tables`` keys: ard (from :func:`aiha.ard.read_ard`),
    responses, patients, labs, adverse_events, cleaning_log, cytometry_qc, audit,
    sensitivity; ``provenance`` is results/provenance.json."""
    ard = ARD(tables["ard"])
    fmt = Fmt.from_config(cfg)
    report_cfg = dict(cfg.get("report", {}))
    routine = list(report_cfg.get("cleaning_log_routine", []))
    has_audit = tables.get("audit") is not None
    has_cytometry = tables.get("cytometry_qc") is not None
    optional = {}
    if has_audit:
        optional["audit"] = audit_table(tables["audit"])
    if has_cytometry:
        optional["cytometry_qc"] = qc_table(tables["cytometry_qc"], fmt)
        optional["flow_ard"] = flow_table(ard, fmt)
    if tables.get("qc") is not None:
        optional["qc_checks"] = qc_checks_table(tables["qc"], fmt)
    t = {
        **optional,
        "sensitivity": sensitivity_table_view(tables["sensitivity"]),
        "baseline": baseline_table(ard, fmt),
        "response": response_table(ard, fmt, cfg),
        "response_listing": response_listing(tables["responses"], fmt),
        "ae_grade": ae_grade_table(ard),
        "ae_listing": ae_listing(tables["adverse_events"], tables["responses"]),
        "cleaning_summary": cleaning_summary_table(tables["cleaning_log"], routine),
        "cleaning_log": cleaning_table(tables["cleaning_log"], routine),
        "flagged_labs": flagged_labs_table(tables["labs"], fmt),
        "comments": comments_table(tables["patients"], tables["labs"]),
        "provenance": provenance_table(ard),
        **provenance_tables(provenance),
    }
    cutoff = data_cutoff(cfg)
    return {
        "title": report_cfg.get("title", "Study report"),
        "subtitle": report_cfg.get("subtitle", ""),
        "author": report_cfg.get("author", ""),
        "reference": report_cfg.get("reference", ""),
        "data_cutoff": cutoff.isoformat(),
        "created": f"{cutoff.isoformat()}T00:00:00Z",
        "cfg": cfg,
        "tables": t,
        "figures": {k: f"figures/{v}" for k, v in CLINICAL_FIGURES.items()},
        "cytometry_figures": {k: f"cytometry/{k}.svg" for k in CYTOMETRY_FIGURES},
        "digests": dict(digests or {}),
        "has_audit": has_audit,
        "has_cytometry": has_cytometry,
        "has_sensitivity_claims": len(tables["sensitivity"]) > 0,
        "treated_by_group": "; ".join(
            f"{GROUP_LABELS[g] if g != 'cAIHA' else 'anemic cAIHA'} "
            f"{F.fmt_count(ard.get('n_treated', g, 'n'))}"
            for g in present_groups(ard) if g != "all"),
        "n_wAIHA": F.fmt_count(ard.get("n_treated", "wAIHA", "n")),
        "n_cAIHA": F.fmt_count(ard.get("n_treated", "cAIHA", "n")),
        "n_nonanemic": F.fmt_count(ard.get("n_treated", "cAIHA_nonanemic", "n")),
        "n_all": F.fmt_count(ard.get("n_treated", "all", "n")),
        "flow_patients": F.fmt_counted(ard.get("flow_n", "all", "n"), "patient")
        if ard.has("flow_n", "all", "n") else F.MISSING,
    }


def jinja_env(template_dir: str | os.PathLike[str]) -> jinja2.Environment:
    """autoescape=True for every template (select_autoescape misses .j2)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(os.fspath(template_dir)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cfgnum"] = cfgnum
    env.filters["percent"] = lambda v, d=0: F.fmt_percent(v, d)
    return env


def render_html(context: Mapping[str, Any], template_dir: str | os.PathLike[str],
                template: str = "study_report.html.j2") -> str:
    return jinja_env(template_dir).get_template(template).render(**context)


# --------------------------------------------------------------------------- PDF
def render_pdf(html: str, asset_dir: str | os.PathLike[str], pdf_path: str | os.PathLike[str],
               epoch: int, identifier: str) -> Any:
    """Render ``html`` (relative links resolved against ``file:///report/``) to PDF.

    Returns the fetcher, whose ``served``/``refused`` lists tell what was fetched.
    """
    os.environ["SOURCE_DATE_EPOCH"] = str(int(epoch))
    wp = _weasyprint()
    fetcher = AssetURLFetcher(asset_dir)
    document = wp.HTML(string=html, base_url=ASSET_BASE_URL, url_fetcher=fetcher)
    pdf_path = Path(pdf_path)
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = pdf_path.with_name(f".{pdf_path.name}.tmp")
    document.write_pdf(
        tmp,
        pdf_identifier=identifier.encode("ascii"),
        pdf_variant=None,
        attachments=None,
        custom_metadata=False,
        presentational_hints=False,
        uncompressed_pdf=False,
    )
    os.replace(tmp, pdf_path)
    return fetcher


def stage_assets(dest: str | os.PathLike[str], css: str | os.PathLike[str],
                 fonts_dir: str | os.PathLike[str], figures: Mapping[str, str | os.PathLike[str]],
                 cytometry_figures: Mapping[str, str | os.PathLike[str]]) -> Path:
    """Copy the stylesheet, fonts and figures into ``dest`` at their URL paths."""
    dest = Path(dest)
    (dest / "fonts").mkdir(parents=True, exist_ok=True)
    (dest / "figures").mkdir(exist_ok=True)
    (dest / "cytometry").mkdir(exist_ok=True)
    shutil.copyfile(css, dest / "report.css")
    for name in FONT_FILES:
        shutil.copyfile(Path(fonts_dir) / name, dest / "fonts" / name)
    for key, path in figures.items():
        shutil.copyfile(path, dest / "figures" / CLINICAL_FIGURES[key])
    for key, path in cytometry_figures.items():
        shutil.copyfile(path, dest / "cytometry" / f"{key}.svg")
    return dest


def build_report(
    inputs: Mapping[str, str | os.PathLike[str]],
    cfg: Mapping[str, Any],
    pdf_path: str | os.PathLike[str],
    html_path: str | os.PathLike[str],
    resources_dir: str | os.PathLike[str] = "resources/report",
    fonts_dir: str | os.PathLike[str] = "resources/fonts",
) -> dict[str, Any]:
    """Read inputs, render HTML and PDF. ``inputs`` keys: ard, responses, patients,
    labs, adverse_events, cleaning_log, cytometry_qc, audit, sensitivity, provenance,
    fig_<clinical figure>,
    cyto_<cytometry figure>. Returns the context, the HTML and the URLs the PDF
    renderer fetched (``served``) or refused (for tests)."""
    resources_dir = Path(resources_dir)
    tables = {k: read_text_tsv(inputs[k]) for k in
              ("responses", "patients", "labs", "adverse_events", "cleaning_log", "sensitivity")}
    # Optional: the cytometry QC (no cytometry arm), the audit (no claims), the QC table.
    for k in ("cytometry_qc", "audit", "qc"):
        tables[k] = read_text_tsv(inputs[k]) if inputs.get(k) else None
    tables["ard"] = read_ard(inputs["ard"])
    digests = {"ARD (results/ard/ard.tsv)": file_sha256(inputs["ard"])}
    provenance = json.loads(Path(inputs["provenance"]).read_text(encoding="utf-8"))
    context = build_context(tables, cfg, provenance, digests)
    html = render_html(context, resources_dir)
    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32]
    figures = {k: inputs[f"fig_{k}"] for k in CLINICAL_FIGURES}
    cyto = {k: inputs[f"cyto_{k}"] for k in CYTOMETRY_FIGURES if inputs.get(f"cyto_{k}")}
    with tempfile.TemporaryDirectory(prefix="aiha-report-") as staging:
        stage_assets(staging, resources_dir / "report.css", fonts_dir, figures, cyto)
        fetcher = render_pdf(html, staging, pdf_path, source_date_epoch(cfg), identifier)
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = html_path.with_name(f".{html_path.name}.tmp")  # atomic, like the PDF
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, html_path)
    return {"context": context, "html": html, "served": list(fetcher.served),
            "refused": list(fetcher.refused)}


def results_inputs(results_dir: str | os.PathLike[str],
                   figures_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """The ``inputs`` mapping of :func:`build_report` for a results/ tree (paths of
    docs/tables.md) and a directory holding the clinical figures."""
    r, f = Path(results_dir), Path(figures_dir)
    inputs = {
        "ard": r / "ard/ard.tsv",
        "responses": r / "response/responses.tsv",
        "patients": r / "clinical/patients.tsv",
        "labs": r / "clinical/labs.tsv",
        "adverse_events": r / "clinical/adverse_events.tsv",
        "cleaning_log": r / "clinical/cleaning_log.tsv",
        "cytometry_qc": r / "cytometry/qc.tsv",
        "audit": r / "audit/claims.tsv",
        "qc": r / "qc/double_programming.tsv",
        "sensitivity": r / "sensitivity/summary.tsv",
        "provenance": r / "provenance.json",
    }
    inputs.update({f"fig_{k}": f / v for k, v in CLINICAL_FIGURES.items()})
    inputs.update({f"cyto_{k}": r / f"cytometry/figures/{k}.svg" for k in CYTOMETRY_FIGURES})
    optional = ("cytometry_qc", "audit", "qc", *(f"cyto_{k}" for k in CYTOMETRY_FIGURES))
    return {k: v for k, v in inputs.items() if k not in optional or Path(v).exists()}


def figure_inputs(results_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """The inputs of :func:`write_figures` in a results/ tree."""
    r = Path(results_dir)
    return {"responses": r / "response/responses.tsv", "labs": r / "clinical/labs.tsv",
            "treatments": r / "clinical/treatments.tsv", "km": r / "stats/km_curve.tsv",
            "ard": r / "ard/ard.tsv"}


def write_figures(inputs: Mapping[str, str | os.PathLike[str]], cfg: Mapping[str, Any],
                  outputs: Mapping[str, str | os.PathLike[str]]) -> None:
    """Draw the clinical figures (rule report_figures). ``inputs`` keys: responses,
    labs, treatments, km, ard; ``outputs`` keys: swimmer, hb_trajectories, km_dor."""
    from aiha import figures

    responses = read_text_tsv(inputs["responses"])
    treatments = read_text_tsv(inputs["treatments"])
    labs = read_text_tsv(inputs["labs"])
    km = pd.read_csv(inputs["km"], sep="\t")
    ard = ARD(read_ard(inputs["ard"]))
    resp_cfg, st = cfg["response"], cfg["statistics"]
    figures.save_svg(figures.swimmer_plot(responses, treatments, float(resp_cfg["days_per_month"])),
                     outputs["swimmer"])
    figures.save_svg(figures.hb_trajectories(labs, responses, figures.hb_thresholds(resp_cfg)),
                     outputs["hb_trajectories"])
    medians = {g: ard.opt("dor_median_km", g, "value") for g in sorted(set(km["group"]))}
    figures.save_svg(figures.km_plot(km, medians, st["km_tie_rule"], float(st["ci_level"])),
                     outputs["km_dor"])


def build_from_results(results_dir: str | os.PathLike[str], cfg: Mapping[str, Any],
                       out_dir: str | os.PathLike[str], root: str | os.PathLike[str] = ".",
                       ) -> dict[str, Any]:
    """Figures and report for a results/ tree into ``out_dir`` (tests, development)."""
    out = Path(out_dir)
    fig_dir = out / "figures"
    write_figures(figure_inputs(results_dir), cfg,
                  {k: fig_dir / v for k, v in CLINICAL_FIGURES.items()})
    root = Path(root)
    return build_report(results_inputs(results_dir, fig_dir), cfg, out / "study_report.pdf",
                        out / "study_report.html", root / "resources/report",
                        root / "resources/fonts")
