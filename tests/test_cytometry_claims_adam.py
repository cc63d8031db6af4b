"""The flow_* claims computed from the analysis datasets (ADCYT, ADSL, ADRS), as rule
cytometry_claims computes them: a small study derived by aiha.adam, written as
Dataset-JSON, read back, and every count worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from aiha.adam import derive_all, read_datasets
from aiha.adam.write import write_all
from aiha.ard import lookup, stats_to_frame
from aiha.errors import InputError
from aiha.cytometry import claims
from test_adam import CFG, _tables
from test_cytometry_claims import S, frame, function, phenotype


def _populations() -> tuple[pd.DataFrame, pd.DataFrame]:
    """PT-A (wAIHA, relapse on 2022-05-29 = day 148): depleted on day 14, CD38+ back
    at 12% on day 150. PT-B (wAIHA, no relapse): its day-14 sample (0.3%) is flagged
    by QC, day 28 is 5%. PT-C (cAIHA_nonanemic, no relapse): depleted on day 21, back
    at 15% on day 60."""
    pops = frame(
        phenotype("A-a", "PT-A", -3, 40.0), phenotype("A-b", "PT-A", 14, 0.5),
        phenotype("A-c", "PT-A", 28, 0.7), phenotype("A-r", "PT-A", 150, 12.0),
        function("A-fa", "PT-A", -3, 60.0, 60.0), function("A-fb", "PT-A", 28, 10.0, 10.0),
        phenotype("B-a", "PT-B", -3, 40.0), phenotype("B-b", "PT-B", 14, 0.3),
        phenotype("B-c", "PT-B", 28, 5.0),
        phenotype("C-a", "PT-C", -3, 30.0), phenotype("C-b", "PT-C", 21, 0.2),
        phenotype("C-d", "PT-C", 60, 15.0),
    )
    qc = pd.DataFrame({"sample_id": pops["sample_id"].unique()})
    qc["qc_flag"] = ["low_events_kept" if s == "B-b" else "" for s in qc["sample_id"]]
    return pops, qc


@pytest.fixture(scope="module")
def adam(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """The study's ADCYT, ADSL and ADRS as rule cytometry_claims reads them (files)."""
    pops, qc = _populations()
    tables = {**_tables(), "populations": pops, "cytometry_qc": qc}
    out = tmp_path_factory.mktemp("adam")
    write_all(derive_all(tables, CFG), out, CFG)
    return read_datasets({n: out / f"{n.lower()}.json" for n in ("ADCYT", "ADSL", "ADRS")})


def test_every_flow_count_from_the_analysis_datasets_by_hand(adam):
    """Each flow_* count of the study above, from ADCYT/ADSL/ADRS, as worked out by hand."""
    assert S.exclude_flagged and S.relapse_window_days >= 2
    ard = stats_to_frame(claims.adam_claims(adam, S), "r", "s", "h")

    def v(stat_id, group, statistic):
        return lookup(ard, stat_id, group, statistic)

    # 12 samples, B-b flagged: 11 pass; 3 patients (2 wAIHA, 1 cAIHA_nonanemic).
    assert (v("flow_n", "all", "n"), v("flow_n", "all", "samples"),
            v("flow_n", "all", "samples_excluded_qc")) == (3, 11, 1)
    assert v("flow_n", "wAIHA", "n") == 2 and v("flow_n", "cAIHA_nonanemic", "n") == 1
    # Depletion (window days 1-42, below 1%): A (0.5% day 14), C (0.2% day 21); B's 0.3%
    # is QC-flagged, so its nadir is 5% on day 28.
    assert (v("flow_depletion", "all", "numerator"), v("flow_depletion", "all", "denominator")) == (2, 3)
    assert (v("flow_depletion", "PT-B", "nadir_percent"), v("flow_depletion", "PT-B", "nadir_day")) == (5.0, 28)
    assert v("flow_depletion", "PT-A", "nadir_day") == 14
    # Relapse: A relapses on day 148 (2022-05-29 - 2022-01-01); CD38+ back on day 150.
    assert v("flow_relapse", "PT-A", "relapse_day") == 148
    assert (v("flow_relapse", "PT-A", "reappearance_day"),
            v("flow_relapse", "PT-A", "reappearance_percent")) == (150, 12.0)
    assert v("flow_relapse", "PT-A", "coincided") == 1
    # C reappears (15% on day 60) without a relapse; B never fell below 1%.
    assert (v("flow_relapse", "all", "n"), v("flow_relapse", "all", "denominator"),
            v("flow_relapse", "all", "reappeared_without_relapse")) == (1, 1, 1)
    assert not ((ard["stat_id"] == "flow_relapse") & (ard["group"].isin(["PT-B", "PT-C"]))).any()
    # Function: A only, 60% -> 10% on both: fold 6.
    assert v("flow_function", "PT-A", "activation_fold") == pytest.approx(6.0)
    assert (v("flow_function", "all", "numerator"), v("flow_function", "all", "denominator")) == (1, 1)


def test_the_rows_name_the_analysis_datasets_they_come_from(adam):
    """Every flow row names ADCYT (with ADSL and ADRS where a relapse or a group is read)
    and the QC selection; none names the population table."""
    rows = claims.adam_claims(adam, S)
    assert rows and all(r.dataset.startswith("ADCYT") for r in rows)
    relapse = {r.dataset for r in rows if r.stat_id == "flow_relapse"}
    assert relapse == {"ADCYT, ADSL, ADRS"}
    assert {r.selection for r in rows if r.stat_id == "flow_n" and r.group == "wAIHA"} == {
        "QCFLAG = '' and ANLGRP = 'wAIHA'"}
    assert all("QCFLAG = ''" in r.selection for r in rows)
    assert not any("populations" in f"{r.dataset} {r.variables}" for r in rows)


def test_the_same_numbers_as_from_the_tables_the_datasets_were_derived_from(adam):
    """ADCYT/ADSL/ADRS give every flow value the population, QC and response tables give."""
    pops, qc = _populations()
    direct = {(r.stat_id, r.group, r.statistic): r.value
              for r in claims.compute_claims(pops, qc, _tables()["responses"], S)}
    via_adam = {(r.stat_id, r.group, r.statistic): r.value for r in claims.adam_claims(adam, S)}
    assert direct.keys() == via_adam.keys()
    for key, value in direct.items():
        other = via_adam[key]
        assert (math.isnan(value) and math.isnan(other)) or value == pytest.approx(other), key


def test_relapse_only_where_adrs_says_yes():
    """A RELAPSE record with AVALC N (even with a date) or none gives no relapse date;
    Y gives its ADT."""
    adsl = pd.DataFrame({"USUBJID": ["P1", "P2", "P3"], "TRTSDT": ["2022-01-01"] * 3,
                         "ANLGRP": ["wAIHA", "cAIHA", "wAIHA"]})
    adrs = pd.DataFrame({"USUBJID": ["P1", "P2", "P1"], "PARAMCD": ["RELAPSE", "RELAPSE", "BOR"],
                         "AVALC": ["Y", "N", "CR"],
                         "ADT": ["2022-03-02", "2022-04-01", "2022-01-20"]})
    out = claims.responses_from_adam(adsl, adrs)
    assert out.to_dict("list") == {"patient_id": ["P1", "P2", "P3"],
                                   "first_dose_date": ["2022-01-01"] * 3,
                                   "relapse_date": ["2022-03-02", "", ""],
                                   "analysis_group": ["wAIHA", "cAIHA", "wAIHA"]}
    assert claims.relapse_days(out) == {"P1": 60}


def test_the_qc_flag_of_each_sample_once():
    """qc_from_adcyt: one row per sample with its flag, a missing flag read as passed."""
    adcyt = pd.DataFrame({"SMPLID": ["s1", "s1", "s2", "s3"], "QCFLAG": ["", "", "low", None]})
    assert claims.qc_from_adcyt(adcyt).to_dict("list") == {
        "sample_id": ["s1", "s2", "s3"], "qc_flag": ["", "low", ""]}


def test_the_rule_reads_the_analysis_datasets():
    """Rule cytometry_claims takes ADCYT, ADSL and ADRS, not the population table."""
    text = (Path(__file__).resolve().parents[1] / "workflow" / "rules" / "cytometry.smk").read_text()
    rule = text[text.index("rule cytometry_claims:"):text.index("rule cytometry_summary_figures:")]
    inputs = rule[rule.index("input:"):rule.index("output:")]
    assert all(f"results/adam/{n}.json" in inputs for n in ("adcyt", "adsl", "adrs"))
    assert "populations" not in inputs and "responses" not in inputs


# ---------------------------------------------------------------- sources and refusals

def _adcyt(pops: pd.DataFrame, flags: dict[str, str] | None = None) -> pd.DataFrame:
    """An ADCYT frame by hand from population rows (the variables the claims read)."""
    flags = flags or {}
    return pd.DataFrame({
        "SMPLID": pops["sample_id"], "USUBJID": pops["patient_id"], "AVISIT": pops["visit"],
        "RELDY": pops["day"], "PARCAT1": pops["tube"], "PARAM": pops["population"],
        "GATEPATH": pops["gate_path"], "PARENT": pops["parent"], "EVCOUNT": pops["count"],
        "AVAL": pops["percent_of_parent"],
        "QCFLAG": [flags.get(s, "") for s in pops["sample_id"]]})


def _subject(ids, groups=None, relapses=None):
    adsl = pd.DataFrame({"USUBJID": ids, "TRTSDT": ["2022-01-01"] * len(ids),
                         "ANLGRP": groups or ["wAIHA"] * len(ids)})
    relapses = relapses or {}
    adrs = pd.DataFrame({"USUBJID": list(ids), "PARAMCD": ["RELAPSE"] * len(ids),
                         "AVALC": ["Y" if p in relapses else "N" for p in ids],
                         "ADT": [relapses.get(p) for p in ids]})
    return adsl, adrs


def test_populations_from_adcyt_names_every_column_the_claims_read():
    """ADCYT's variables become the population table's columns, one row per record."""
    pops = frame(phenotype("s1", "P1", -3, 40.0))
    back = claims.populations_from_adcyt(_adcyt(pops).set_index(pd.Index(range(10, 10 + len(pops)))))
    assert list(back.columns) == ["sample_id", "patient_id", "visit", "day", "tube", "population",
                                  "gate_path", "parent", "count", "percent_of_parent"]
    assert list(back.index) == list(range(len(pops)))
    expected = pops[back.columns].reset_index(drop=True)
    assert back.astype(str).equals(expected.astype(str))


def test_one_qc_row_per_sample_with_its_first_flag():
    """A sample's records share its flag: qc_from_adcyt keeps one row per SMPLID."""
    adcyt = pd.DataFrame({"SMPLID": ["s1", "s1", "s2"], "QCFLAG": ["low", "other", ""]})
    assert claims.qc_from_adcyt(adcyt).to_dict("list") == {"sample_id": ["s1", "s2"],
                                                           "qc_flag": ["low", ""]}


@pytest.mark.parametrize("exclude", [True, False])
def test_every_row_names_its_dataset_variables_and_selection(exclude):
    """dataset, variables and selection of each kind of flow row, as documented."""
    import dataclasses

    s = dataclasses.replace(S, exclude_flagged=exclude)
    pops = frame(phenotype("a", "P1", -3, 40.0), phenotype("b", "P1", 14, 0.5),
                 phenotype("c", "P1", 150, 12.0), function("fa", "P1", -3, 60.0, 60.0),
                 function("fb", "P1", 28, 10.0, 10.0))
    adsl, adrs = _subject(["P1"], relapses={"P1": "2022-05-29"})
    rows = claims.adam_claims({"ADCYT": _adcyt(pops), "ADSL": adsl, "ADRS": adrs}, s)
    passed = "QCFLAG = ''" if exclude else "all records"
    source = {(r.stat_id, r.group == "all"): (r.dataset, r.variables, r.selection) for r in rows}
    plain = ("ADCYT", "EVCOUNT, RELDY, PARAM, PARCAT1, QCFLAG", passed)
    assert source[("flow_depletion", True)] == source[("flow_depletion", False)] == plain
    assert source[("flow_subsets", False)] == source[("flow_function", True)] == plain
    relapse = ("ADCYT, ADSL, ADRS",
               "ADCYT.EVCOUNT, ADCYT.RELDY, ADSL.TRTSDT, ADRS.ADT (PARAMCD = 'RELAPSE')", passed)
    assert source[("flow_relapse", True)] == source[("flow_relapse", False)] == relapse
    by_group = [r for r in rows if r.stat_id == "flow_n" and r.group != "all"]
    assert [(r.group, r.dataset, r.variables, r.selection) for r in by_group] == [
        ("wAIHA", "ADCYT, ADSL", "ADCYT.USUBJID, ADSL.ANLGRP",
         "QCFLAG = '' and ANLGRP = 'wAIHA'" if exclude else "ANLGRP = 'wAIHA'")]
    assert {(r.dataset, r.variables, r.selection) for r in rows
            if r.stat_id == "flow_n" and r.group == "all"} == {
        ("ADCYT", "USUBJID, SMPLID, QCFLAG", passed)}


@pytest.mark.parametrize("role,tube", [("cd38", "phenotype"), ("naive", "phenotype"),
                                       ("activation", "function"), ("divided", "function")])
def test_a_missing_population_names_the_dataset_file_the_sample_and_the_population(role, tube):
    """A sample without a population the claims read: an InputError naming the ADCYT file
    given (default ADCYT), the sample, column population and the population's name."""
    name = {"cd38": S.cd38, "naive": S.subsets["naive"], "activation": S.activation,
            "divided": S.divided}[role]
    pops = frame(phenotype("a", "P1", -3, 40.0), function("f", "P1", -3, 60.0, 60.0))
    pops = pops[pops["population"] != name]
    adsl, adrs = _subject(["P1"])
    datasets = {"ADCYT": _adcyt(pops), "ADSL": adsl, "ADRS": adrs}
    for given, expected in (({"source": "results/adam/adcyt.json"}, "results/adam/adcyt.json"),
                            ({}, "ADCYT")):
        with pytest.raises(InputError) as err:
            claims.adam_claims(datasets, S, **given)
        sample = "a" if tube == "phenotype" else "f"
        assert (err.value.file, err.value.column, err.value.value) == (expected, "population", name)
        assert err.value.message.startswith(f"sample {sample} ({tube} tube): ")
    with pytest.raises(InputError) as err:
        claims.compute_claims(pops, pd.DataFrame({"sample_id": ["a", "f"], "qc_flag": ""}),
                              claims.responses_from_adam(adsl, adrs), S)
    assert err.value.file == "populations.tsv"
    with pytest.raises(InputError) as err:
        claims.percent_of_t(pops, name, S.t_cells, tube)
    assert err.value.file == "populations.tsv"


def test_a_day_0_nadir_is_not_a_post_dose_depletion_for_the_relapse_claim():
    """CD38+ at 0.5% on day 0 (not after dosing), 5% on day 14, 12% on day 28, relapse on
    day 30: no post-dose value fell below 1%, so no reappearance and no coincidence."""
    pops = frame(phenotype("a", "P1", 0, 0.5), phenotype("b", "P1", 14, 5.0),
                 phenotype("c", "P1", 28, 12.0))
    adsl, adrs = _subject(["P1"], relapses={"P1": "2022-01-31"})
    ard = stats_to_frame(claims.adam_claims({"ADCYT": _adcyt(pops), "ADSL": adsl, "ADRS": adrs}, S),
                         "r", "s", "h")
    assert lookup(ard, "flow_relapse", "P1", "relapse_day") == 30
    assert math.isnan(lookup(ard, "flow_relapse", "P1", "reappearance_day"))
    assert lookup(ard, "flow_relapse", "all", "n") == 0


def test_reappearances_without_a_relapse_are_counted_over_all_patients():
    """Two patients depleted and back above the threshold, neither relapsing: 2 (not 1)."""
    pops = frame(phenotype("a1", "P1", -3, 40.0), phenotype("b1", "P1", 14, 0.5),
                 phenotype("c1", "P1", 90, 15.0), phenotype("a2", "P2", -3, 40.0),
                 phenotype("b2", "P2", 14, 0.4), phenotype("c2", "P2", 60, 11.0))
    adsl, adrs = _subject(["P1", "P2"])
    ard = stats_to_frame(claims.adam_claims({"ADCYT": _adcyt(pops), "ADSL": adsl, "ADRS": adrs}, S),
                         "r", "s", "h")
    assert lookup(ard, "flow_relapse", "all", "reappeared_without_relapse") == 2
    assert lookup(ard, "flow_relapse", "all", "denominator") == 0
