"""Safety at the standard of a study report (issue 26): the optional adverse-event
columns through cleaning, the system organ class and treatment-emergent flag of
ADAE, and the safety statistics, each against values worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from aiha.adam.occurrences import ADAE, SOC_FROM_EXPORT, ae_base, read_soc_map
from aiha.cleaning import tables
from aiha.safety import NOT_MAPPED, safety_statistics
from test_mutation_cleaning_tables import AE_COLUMNS, AF, R1, R2, frame, ready_site, refused

SOC_MAP = "resources/safety/ctcae_v5_soc.tsv"
OPTIONAL = [*AE_COLUMNS, "soc", "related", "outcome"]


def test_optional_columns_are_read_and_merged_across_reports():
    """related: any report saying yes; outcome: the latest report that gives one; soc:
    the first report's."""
    site = ready_site()
    site.profile.codes["outcome"] = {"REC": "recovered", "ONG": "not_recovered"}
    raw = frame(OPTIONAL, [
        [R1, "1", "2022-10-05", "Pneumonia", "2", "N", "", "Infections and infestations", "N", "ONG"],
        [R1, "1", "2022-10-09", "Pneumonia", "3", "Y", "", "", "Y", ""],
        [R1, "1", "2022-10-20", "Pneumonia", "3", "N", "", "", "n", "rec"],
        [R2, "1", "2022-06-01", "Fatigue", "1", "N", "", "", "", ""]])
    got = tables.clean_adverse_events(raw, site).set_index("patient_id")
    assert got.loc["PT-1", ["soc", "related", "outcome"]].tolist() == [
        "Infections and infestations", "True", "recovered"]
    assert got.loc["PT-2", ["soc", "related", "outcome"]].tolist() == ["", "", ""]


def test_an_outcome_without_a_code_table_names_the_file_row_and_column():
    site = ready_site()
    raw = frame(OPTIONAL, [[R1, "1", "2022-10-05", "Rash", "1", "N", "", "", "", "REC"]])
    err = refused(tables.clean_adverse_events, raw, site)
    assert (err.file, err.row, err.column, err.value) == (AF, 1, "outcome", "REC")
    assert "has no codes.outcome table" in err.message
    site.profile.codes["outcome"] = {"REC": "recovered"}
    raw = frame(OPTIONAL, [[R1, "1", "2022-10-05", "Rash", "1", "N", "", "", "", "DIED"]])
    err = refused(tables.clean_adverse_events, raw, site)
    assert (err.row, err.column, err.value) == (1, "outcome", "DIED")


def _adsl():
    return pd.DataFrame({"USUBJID": ["A", "B", "C"], "ANLGRP": ["wAIHA", "wAIHA", "cAIHA"],
                         "SAFFL": ["Y"] * 3, "TRTSDT": ["2022-01-01"] * 3,
                         "TRTEDT": ["2022-01-22", "2022-03-01", "2022-01-22"]})


def _aes():
    return pd.DataFrame({
        "patient_id": ["A", "A", "B", "C"], "ae_number": [1, 2, 1, 1],
        "term": ["Pneumonia", "Fatigue", "Chest cold", "Upper respiratory infection"],
        "grade": [3, 1, 2, 2], "serious": [True, False, False, False],
        "day": [10, 60, 20, 50], "onset_date": ["2022-01-11", "2022-03-02", "2022-01-21",
                                              "2022-02-20"],
        "soc": ["", "", "", "Respiratory, thoracic and mediastinal disorders"],
        "related": ["True", "", "False", ""], "outcome": ["recovered", "", "", ""]})


def test_adae_class_source_and_treatment_emergent_window():
    """SOC: the export's (C), else the mapping file's (Pneumonia, Fatigue), else none
    (Chest cold). Window of 30 days after the last dose: A's last dose day 21, so day 60
    is not treatment-emergent; B's last dose day 59: day 20 is."""
    adae = ADAE.build(ae_base(_aes(), _adsl(), "S", read_soc_map(SOC_MAP), 30))
    assert adae["AEBODSYS"].tolist() == [
        "Infections and infestations", "General disorders and administration site conditions",
        "", "Respiratory, thoracic and mediastinal disorders"]
    assert adae["AESOCSRC"].tolist() == ["MedDRA preferred term (primary SOC)", "CTCAE v5.0", "",
                                         SOC_FROM_EXPORT]
    assert adae["TRTEMFL"].tolist() == ["Y", "N", "Y", "Y"]
    assert adae["AINFFL"].tolist() == ["Y", "N", "N", "N"]
    assert adae["AEREL"].tolist() == ["Y", "", "N", ""]
    # Without a window every event from the first dose is treatment-emergent.
    assert ADAE.build(ae_base(_aes(), _adsl(), "S", {}, None))["TRTEMFL"].tolist() == ["Y"] * 4


def test_a_term_mapped_to_two_classes_is_refused(tmp_path):
    path = tmp_path / "map.tsv"
    path.write_text("term\tsoc\tsource\nFever\tA\tx\nfever \tB\ty\n")
    with pytest.raises(ValueError, match="line 3: term 'fever ' mapped to two classes"):
        read_soc_map(str(path))


def test_safety_statistics_by_hand():
    """Window 30 days: A's Fatigue (day 60) drops out. Treatment-emergent: A Pneumonia
    (grade 3, serious, related, recovered, infection), B Chest cold (grade 2, not
    related, no class), C URI (grade 2, the export's respiratory class)."""
    adae = ADAE.build(ae_base(_aes(), _adsl(), "S", read_soc_map(SOC_MAP), 30))
    got = {(s.stat_id, s.group, s.statistic): s.value
           for s in safety_statistics(_adsl().assign(EFFFL="Y"), adae, ("all", "wAIHA", "cAIHA"))}
    assert got[("ae_summary", "all", "any: n")] == 3
    assert got[("ae_summary", "all", "any: proportion")] == 1.0
    assert got[("ae_summary", "wAIHA", "grade 3-5: n")] == 1
    assert got[("ae_summary", "all", "serious: n")] == 1
    assert got[("ae_summary", "all", "related: n")] == 1
    assert got[("ae_summary", "all", "related recorded: n")] == 2  # A yes, B no
    assert got[("ae_summary", "all", "outcome recorded: n")] == 1
    assert got[("ae_summary", "all", "fatal: n")] == 0
    assert got[("ae_soc", "wAIHA", "Infections and infestations: any grade n")] == 1
    assert got[("ae_soc", "wAIHA", "Infections and infestations | Pneumonia: any grade n")] == 1
    assert got[("ae_soc", "all", f"{NOT_MAPPED} | Chest cold: any grade n")] == 1
    assert got[("ae_soc", "cAIHA", "Respiratory, thoracic and mediastinal disorders: any grade n")] == 1
    assert ("ae_soc", "all", "General disorders and administration site conditions: any grade n") \
        not in got  # Fatigue is outside the window
    assert got[("ae_infection", "all", "any: n")] == 1  # URI coded respiratory by the site
    assert got[("ae_infection", "wAIHA", "grade 3-5: proportion")] == 0.5
    # Classes in order, "not mapped" last.
    socs = [k[2] for k in got if k[0] == "ae_soc" and k[1] == "all" and k[2].endswith("any grade n")
            and " | " not in k[2]]
    assert socs[-1] == f"{NOT_MAPPED}: any grade n" and socs == sorted(socs[:-1]) + socs[-1:]


def test_without_relatedness_or_outcome_there_are_no_such_rows():
    aes = _aes().assign(related="", outcome="")
    adae = ADAE.build(ae_base(aes, _adsl(), "S", read_soc_map(SOC_MAP), None))
    got = {(s.stat_id, s.group, s.statistic) for s in safety_statistics(_adsl(), adae, ("all",))}
    assert ("ae_summary", "all", "any: n") in got
    assert not any(k[2].startswith(("related", "fatal", "outcome")) for k in got)
