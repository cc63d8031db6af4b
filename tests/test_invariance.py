"""Invariance: a change of an export that carries no information changes no output.

Each test runs the real chain (cleaning, response scoring, ADaM datasets written as
Dataset-JSON and read back, clinical statistics and content; :mod:`pipeline`) on
the demo's exports and on a changed copy, and compares the cleaned tables, the
responses, the analysis datasets and every ARD row. These catch whole classes of
bugs without naming them: an order dependence (first dose, first or last AE
report), a unit or format that one code path reads differently, a site-level
computation, a cut-off read as exclusive.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

import pipeline as P

# Columns of a cleaned table that quote the export as received (they change with
# the way a value is written, by design) and the ADaM variables that quote them.
RAW_QUOTES = {"raw_value", "raw_unit"}
# Row numbers quoted in the cleaning log's text ("rows 11", "duplicate of row 3").
ROW_NUMBERS = r"\brows? [\d, ]*\d"


@pytest.fixture(scope="module")
def exports() -> P.Exports:
    return P.demo_exports()


@pytest.fixture(scope="module")
def profiles() -> dict:
    return P.site_profiles_raw()


@pytest.fixture(scope="module")
def baseline(exports, tmp_path_factory) -> P.Outputs:
    return P.run(exports, tmp_path_factory.mktemp("baseline"))


def _frame_equal(a: pd.DataFrame, b: pd.DataFrame, what: str, drop=()) -> None:
    a = a.drop(columns=[c for c in drop if c in a.columns]).reset_index(drop=True)
    b = b.drop(columns=[c for c in drop if c in b.columns]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-12, obj=what)


def assert_same_outputs(a: P.Outputs, b: P.Outputs, ids_same: bool = True) -> None:
    """Every ARD row; with ``ids_same`` also the cleaned tables, the responses, the
    analysis datasets and the Kaplan-Meier curves."""
    _frame_equal(a.ard, b.ard, "ARD")
    _frame_equal(a.km, b.km, "KM curve")
    if not ids_same:
        return
    for name in P.CLEAN_TABLES:
        _frame_equal(a.clean[name], b.clean[name], f"clean {name}", drop=RAW_QUOTES)
    _frame_equal(a.responses, b.responses, "responses")
    for name in a.adam:
        quoted = {c for c in a.adam[name].columns if c in ("LBORRES", "LBORRESU")}
        _frame_equal(a.adam[name], b.adam[name], name, drop=quoted)


def _delimiter(profiles: dict, site: str) -> str:
    return profiles[site]["delimiter"]


# ------------------------------------------------------------------ row order

@pytest.mark.parametrize("seed", [1, 2])
def test_shuffling_the_rows_of_every_export_changes_no_output(exports, profiles, baseline,
                                                              tmp_path: Path, seed: int):
    rng = random.Random(seed)
    shuffled = exports
    for site in exports:
        for table in exports[site]:
            def shuffle(header, rows):
                rng.shuffle(rows)
                return rows
            shuffled = P.edit_rows(shuffled, site, table, _delimiter(profiles, site), shuffle)
    assert shuffled != exports
    out = P.run(shuffled, tmp_path)
    assert_same_outputs(baseline, out)
    # The cleaning log names other row numbers, but records the same actions.
    cols = ["file", "field", "old", "new", "reason"]

    def key(log: pd.DataFrame) -> pd.DataFrame:
        log = log.assign(file=[Path(f).parent.name + "/" + Path(f).name for f in log["file"]],
                         old=log["old"].str.replace(ROW_NUMBERS, "row", regex=True),
                         reason=log["reason"].str.replace(ROW_NUMBERS, "row", regex=True))
        # A repeated report's "old" grade is whichever report came first.
        again = log["reason"].str.startswith("event reported again")
        log.loc[again, "old"] = "(an earlier report)"
        return log[cols].astype(str).sort_values(cols).reset_index(drop=True)
    pd.testing.assert_frame_equal(key(baseline.log), key(out.log))


def test_reversing_each_patients_rows_changes_no_output(exports, profiles, baseline,
                                                        tmp_path: Path):
    """The worst order for a 'first row' bug: every table newest record first."""
    rev = exports
    for site in exports:
        for table in exports[site]:
            rev = P.edit_rows(rev, site, table, _delimiter(profiles, site),
                              lambda h, rows: rows[::-1])
    assert_same_outputs(baseline, P.run(rev, tmp_path))


# ------------------------------------------------------------------ sites

def test_splitting_a_site_into_two_with_its_profile_changes_no_cohort_statistic(
        exports, profiles, baseline, tmp_path: Path):
    site = max(exports, key=lambda s: P.rows_of(exports[s]["patients"],
                                               _delimiter(profiles, s))[1].__len__())
    d = _delimiter(profiles, site)
    header, rows = P.rows_of(exports[site]["patients"], d)
    records = sorted({r[header.index("record_number")] for r in rows})
    assert len(records) >= 2
    moved = set(records[::2])
    new = "ZZZ"
    split = {s: dict(t) for s, t in exports.items()}
    split[new] = {}
    for table, text in exports[site].items():
        h, rs = P.rows_of(text, d)
        i = h.index("record_number")
        split[site][table] = P.csv_text(h, [r for r in rs if r[i] not in moved], d)
        split[new][table] = P.csv_text(h, [r for r in rs if r[i] in moved], d)
    sites = dict(profiles)
    sites[new] = {**profiles[site], "name": profiles[site]["name"] + " (second export)"}
    path = P.write_profiles(sites, tmp_path / "sites.yaml")
    out = P.run(split, tmp_path / "run", profiles_path=path)
    assert_same_outputs(baseline, out, ids_same=False)
    # The patients are the same people: same number of rows in every table.
    for name in P.CLEAN_TABLES:
        assert len(out.clean[name]) == len(baseline.clean[name]), name
    adsl = out.adam["ADSL"]
    assert (adsl["SITEID"] == new).sum() == len(moved)


# ------------------------------------------------------------------ units and formats

# Exact decimal re-expressions: (analyte's site unit) -> [(new unit, factor), ...]
HB = {"mmol/l": [("g/dL", "1.611"), ("g/L", "16.11")], "g/dl": [("g/L", "10"), ("mmol/L", None)],
      "g/l": [("g/dL", "0.1"), ("mmol/L", None)]}
BILI = {"mg/dl": [("umol/L", "17.1"), ("µmol/L", "17.1")], "umol/l": [("µmol/L", "1")],
        "µmol/l": [("umol/L", "1")]}
LDH = {"u/l": [("IU/L", "1")], "ui/l": [("U/L", "1")], "iu/l": [("U/L", "1")]}
FACTORS = {"hb": HB, "bilirubin": BILI, "ldh": LDH}


def _canonical_analyte(profile: dict, code: str) -> str:
    table = {k.upper(): v for k, v in profile["codes"]["analyte"].items()}
    return table[code.strip().upper()]


def _reexpress(value: str, factor: str, decimal: str, new_decimal: str) -> str:
    x = Decimal(value.replace(decimal, ".")) * Decimal(factor)
    text = format(x.normalize(), "f")
    return text.replace(".", new_decimal)


def _reformat_site(exports, profiles, site, *, date_format, delimiter, decimal, encoding,
                   mixed_units: bool):
    """The site's exports written again in another date format, delimiter, decimal mark
    and encoding, with lab values re-expressed (row by row, alternating) in the other
    units the unit table accepts. Returns (exports, new profile)."""
    prof = profiles[site]
    old_fmt, old_d, old_dec = prof["date_format"], prof["delimiter"], prof["decimal"]
    out = {s: dict(t) for s, t in exports.items()}
    changed = 0
    for table, text in exports[site].items():
        header, rows = P.rows_of(text, old_d)
        for n, r in enumerate(rows):
            for i, col in enumerate(header):
                if col.endswith("_date") and r[i].strip():
                    r[i] = datetime.strptime(r[i].strip(), old_fmt).strftime(date_format)
            if table == "labs":
                vi, ui, ai = header.index("value"), header.index("unit"), header.index("analyte")
                analyte = _canonical_analyte(prof, r[ai])
                options = FACTORS[analyte].get(r[ui].strip().lower(), [])
                options = [o for o in options if o[1] is not None]
                if mixed_units and options:
                    unit, factor = options[n % len(options)]
                    r[vi] = _reexpress(r[vi], factor, old_dec, decimal)
                    r[ui] = unit
                    changed += 1
                else:
                    r[vi] = r[vi].replace(old_dec, decimal)
            if table == "treatments":
                i = header.index("dose_mg")
                r[i] = r[i].replace(old_dec, decimal)
        out[site][table] = P.csv_text(header, rows, delimiter)
    if mixed_units:
        assert changed > 0
    new = {**prof, "date_format": date_format, "delimiter": delimiter, "decimal": decimal,
           "encoding": encoding}
    return out, new


@pytest.mark.parametrize("site,date_format,delimiter,decimal,encoding", [
    ("AMS", "%Y-%m-%d", "|", ".", "utf-8"),       # mmol/L -> g/dL and g/L
    ("CRE", "%d.%m.%Y", ";", ",", "cp1252"),      # g/dL -> g/L, UI/L -> U/L
    ("LON", "%m/%d/%Y", "\t", ",", "utf-16"),     # g/L -> g/dL, month first
    ("MIL", "%Y%m%d", ",", ".", "utf-8"),        # mg/dL bilirubin -> umol/L
])
def test_reexpressing_a_site_in_other_units_and_formats_changes_no_output(
        exports, profiles, baseline, tmp_path: Path, site, date_format, delimiter, decimal,
        encoding):
    changed, prof = _reformat_site(exports, profiles, site, date_format=date_format,
                                   delimiter=delimiter, decimal=decimal, encoding=encoding,
                                   mixed_units=True)
    assert changed[site]["labs"] != exports[site]["labs"]
    path = P.write_profiles({**profiles, site: prof}, tmp_path / "sites.yaml")
    out = P.run(changed, tmp_path / "run", profiles_path=path)
    assert_same_outputs(baseline, out)


# ------------------------------------------------------------------ the data cut-off

def _all_dates(exports, profiles) -> list[date]:
    out = []
    for site, tables in exports.items():
        for text in tables.values():
            header, rows = P.rows_of(text, _delimiter(profiles, site))
            for r in rows:
                for i, col in enumerate(header):
                    if col.endswith("_date") and col != "birth_date" and r[i].strip():
                        out.append(datetime.strptime(r[i].strip(),
                                                     profiles[site]["date_format"]).date())
    return out


# What the cut-off is allowed to move: an ongoing response is censored at the data
# cut-off (STUDY.md), so its duration, and the summaries of durations, follow it.
DURATION_COLUMNS = {"duration_days", "duration_months", "ongoing_duration_months"}


def _reads_durations(stat_id: str) -> bool:
    return stat_id.startswith("dor_") or stat_id == "ongoing_duration"


def test_moving_the_cutoff_past_every_record_changes_only_censored_durations(
        exports, profiles, tmp_path: Path):
    """With the cut-off on the day of the study's last record, a day later and 400
    days later: the same cleaned tables, analysis datasets but ADTTE, responses, and
    every ARD row but the summaries of durations; an ongoing response's duration
    grows by exactly the days the cut-off moved, every other duration stays."""
    last = max(_all_dates(exports, profiles))
    shifts = (0, 1, 400)
    runs = [P.run(exports, tmp_path / str(k), P.config(data__data_cutoff=str(last + timedelta(k))))
            for k in shifts]
    base = runs[0]
    ongoing = base.responses["ongoing"].astype(str) == "True"
    assert ongoing.sum() >= 2 and (~ongoing & base.responses["responder"].astype(str).eq(
        "True")).sum() >= 2
    for k, other in zip(shifts[1:], runs[1:]):
        for name in P.CLEAN_TABLES:
            _frame_equal(base.clean[name], other.clean[name], f"clean {name}")
        _frame_equal(base.responses, other.responses, "responses", drop=DURATION_COLUMNS)
        got = other.responses["duration_days"].astype(float)
        want = base.responses["duration_days"].astype(float) + ongoing * k
        pd.testing.assert_series_equal(got, want, check_names=False)
        for name in base.adam:
            if name == "ADTTE":
                continue
            a, b = base.adam[name], other.adam[name]
            if name == "ADRS":  # AVAL of ONGOING: the ongoing duration in months
                a, b = (f.assign(AVAL=f["AVAL"].where(f["PARAMCD"] != "ONGOING")) for f in (a, b))
            _frame_equal(a, b, name)
        merged = base.ard.merge(other.ard, on=["stat_id", "group", "statistic"], how="outer",
                                indicator=True)
        assert (merged["_merge"] == "both").all()
        differ = merged[~((merged["value_x"] == merged["value_y"])
                          | (merged["value_x"].isna() & merged["value_y"].isna()))]
        assert all(_reads_durations(s) for s in differ["stat_id"]), sorted(set(differ["stat_id"]))
    # 400 days later every ongoing duration in whole months is larger.
    assert (runs[2].responses.loc[ongoing, "duration_months"].astype(float)
            > base.responses.loc[ongoing, "duration_months"].astype(float)).all()


def _move_last_row(exports, profiles, site: str, table: str, when: date):
    """A copy of the exports whose last ``table`` row of ``site`` is dated ``when``."""
    fmt, d = profiles[site]["date_format"], _delimiter(profiles, site)

    def move(header, rows):
        col = [c for c in header if c.endswith("_date")][0]
        rows[-1][header.index(col)] = when.strftime(fmt)
        return rows
    return P.edit_rows(exports, site, table, d, move)


def test_a_record_on_the_cutoff_day_is_kept_and_one_a_day_later_is_dropped(
        exports, profiles, baseline, tmp_path: Path):
    """An adverse event and a transfusion moved onto the cut-off day count; with the
    cut-off a day earlier they do not (the spec: records dated after the cut-off are
    excluded). The effect is computed here: one more event of its grade; one more
    transfusion of its units."""
    site = "AMS"
    d = _delimiter(profiles, site)
    h, rows = P.rows_of(exports[site]["adverse_events"], d)
    grade = int(rows[-1][h.index("ctcae_grade")])
    number = rows[-1][h.index("ae_number")]
    rec = rows[-1][h.index("record_number")]
    same_event = [r for r in rows if r[h.index("ae_number")] == number
                  and r[h.index("record_number")] == rec]
    assert len(same_event) == 1, "pick an adverse event reported once"
    th, trows = P.rows_of(exports[site]["transfusions"], d)
    units = int(trows[-1][th.index("units")])
    when = max(_all_dates(exports, profiles)) + timedelta(days=30)
    moved = _move_last_row(_move_last_row(exports, profiles, site, "adverse_events", when),
                           profiles, site, "transfusions", when)
    on_day = P.run(moved, tmp_path / "on", P.config(data__data_cutoff=when.isoformat()))
    assert len(on_day.clean["adverse_events"]) == len(baseline.clean["adverse_events"])
    assert len(on_day.clean["transfusions"]) == len(baseline.clean["transfusions"])
    assert when.isoformat() in set(on_day.clean["adverse_events"]["onset_date"].astype(str))
    assert when.isoformat() in set(on_day.clean["transfusions"]["date"].astype(str))
    before = P.run(moved, tmp_path / "before",
                   P.config(data__data_cutoff=(when - timedelta(days=1)).isoformat()))
    assert len(before.clean["adverse_events"]) == len(baseline.clean["adverse_events"]) - 1
    assert len(before.clean["transfusions"]) == len(baseline.clean["transfusions"]) - 1
    assert (before.clean["transfusions"]["units"].astype(int).sum()
            == on_day.clean["transfusions"]["units"].astype(int).sum() - units)
    dropped = before.log[before.log["reason"].str.startswith("after data cut-off")]
    assert len(dropped) == 2

    def ard(o: P.Outputs, stat: str, group: str, statistic: str) -> float:
        a = o.ard
        return float(a[(a["stat_id"] == stat) & (a["group"] == group)
                       & (a["statistic"] == statistic)]["value"].iloc[0])
    assert ard(on_day, "ae_events", "all", "n") == ard(before, "ae_events", "all", "n") + 1
    assert (ard(on_day, "ae_grade", "all", f"grade_{grade}")
            == ard(before, "ae_grade", "all", f"grade_{grade}") + 1)
