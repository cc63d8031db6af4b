"""Write the small report fixture (a results/ tree following docs/tables.md).

Run once from the project root: ``.venv/bin/python tests/data/report/make_fixtures.py``.
The numbers are fictional and only need to be well-formed; the report tests compare
the PDF with these tables, not with the paper.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from aiha.ard import Stat, stats_to_frame, write_ard, write_tsv  # noqa: E402
from aiha.provenance import folder_digests  # noqa: E402
from aiha.sensitivity import key_statistics  # noqa: E402

OUT = Path(__file__).resolve().parent / "results"

P = ["PT-0000000A", "PT-0000000B", "PT-0000000C", "PT-0000000D", "PT-0000000E", "PT-0000000F"]
INJECT = (
    '<link rel="attachment" href="file:///etc/passwd">'
    ' <img src="http://127.0.0.1:9/x"> <style>td::after{content:"99.9"}</style>'
)


def main() -> None:
    patients = pd.DataFrame(
        [
            [P[0], "AMS", "NL", "female", 64, "wAIHA", False, False, "", 3, "2022-01-10", ""],
            [P[1], "LON", "UK", "male", 71, "wAIHA", False, False, "", 4, "2022-02-14",
             "Panagglutination in antibody screen after daratumumab"],
            [P[2], "RTM", "NL", "female", 52, "wAIHA", True, False, "", 2, "2022-03-07", INJECT],
            [P[3], "NMG", "NL", "male", 77, "cAIHA", "", True, True, 2, "2022-01-24", ""],
            [P[4], "VIE", "AT", "female", 69, "cAIHA", "", True, False, 3, "2022-04-25", ""],
            [P[5], "VIE", "AT", "female", 63, "cAIHA", "", True, True, 2, "2022-11-07", ""],
        ],
        columns=["patient_id", "site", "country", "sex", "age_at_first_dose", "diagnosis", "evans",
                 "acrocyanosis", "acrocyanosis_response", "prior_lines", "first_dose_date", "comment"],
    )
    first = dict(zip(patients.patient_id, pd.to_datetime(patients.first_dose_date)))

    lab_rows = []
    courses = {
        P[0]: [7.4, 7.6, 9.0, 11.0, 11.2, 10.8, 9.1, 8.8],
        P[1]: [7.1, 7.5, 8.9, 10.9, 12.6, 12.8, 13.0, 12.9],
        P[2]: [7.9, 8.0, 7.7, 8.1, 7.8, 8.0, 7.9, 8.2],
        P[3]: [8.6, 8.9, 10.2, 11.3, 11.6, 11.5, 11.4, 11.7],
        P[4]: [8.8, 8.7, 9.0, 8.9, 9.1, 8.8, 8.6, 8.9],
        P[5]: [12.9, 13.0, 13.3, 13.6, 13.8, 13.7, 13.8, 13.8],
    }
    days = [-3, 14, 28, 42, 56, 84, 112, 140]
    for pid, values in courses.items():
        for day, value in zip(days, values):
            date = (first[pid] + pd.Timedelta(days=day)).strftime("%Y-%m-%d")
            flag, comment = "", ""
            if pid == P[4] and day == 56:
                flag, comment = "suspicious", 'haemolysed sample <b>"repeat"</b> & check'
            lab_rows.append([pid, date, day, "hb", value, "g/dL", value, "g/dL", flag, comment])
        date = (first[pid] + pd.Timedelta(days=-3)).strftime("%Y-%m-%d")
        lab_rows.append([pid, date, -3, "ldh", 1.8, "x ULN", 450, "U/L", "", ""])
    labs = pd.DataFrame(lab_rows, columns=["patient_id", "date", "day", "analyte", "value", "unit",
                                           "raw_value", "raw_unit", "flag", "comment"])

    treat_rows = []
    for pid in P:
        for day in [0, 7, 14, 21]:
            date = (first[pid] + pd.Timedelta(days=day)).strftime("%Y-%m-%d")
            treat_rows.append([pid, date, day, "daratumumab", "daratumumab", 1800])
    date = (first[P[0]] + pd.Timedelta(days=120)).strftime("%Y-%m-%d")
    treat_rows.append([P[0], date, 120, "aiha_therapy", "rituximab", 1000])
    treatments = pd.DataFrame(treat_rows, columns=["patient_id", "date", "day", "treatment",
                                                   "drug", "dose_mg"])
    transfusions = pd.DataFrame([[P[2], "2022-04-12", 36, 2]],
                                columns=["patient_id", "date", "day", "units"])

    responses = pd.DataFrame(
        [
            [P[0], "AMS", "wAIHA", "wAIHA", True, "2022-01-10", "2023-06-30", 7.4, 11.2, 3.8, "PR",
             True, "2022-02-21", "2022-05-02", "new_therapy", False, 70, 2.0, 1, False, False, "",
             4, "2022-01-31", "2022-05-10"],
            [P[1], "LON", "wAIHA", "wAIHA", True, "2022-02-14", "2023-06-30", 7.1, 13.0, 5.9, "CR",
             True, "2022-03-28", "", "", True, 459, 15.0, 0, False, False, "", 4, "2022-03-07", ""],
            [P[2], "RTM", "wAIHA", "wAIHA", True, "2022-03-07", "2023-06-30", 7.9, 8.2, 0.3, "NR",
             False, "", "", "", "", "", "", "", True, False, "", 4, "2022-03-28", ""],
            [P[3], "NMG", "cAIHA", "cAIHA", True, "2022-01-24", "2023-06-30", 8.6, 11.7, 3.1, "HR",
             True, "2022-03-07", "", "", True, 480, 16.0, 0, "", True, True, 4, "2022-02-14", ""],
            [P[4], "VIE", "cAIHA", "cAIHA", True, "2022-04-25", "2023-06-30", 8.8, 9.1, 0.3, "NR",
             False, "", "", "", "", "", "", "", "", True, False, 4, "2022-05-16", ""],
            [P[5], "VIE", "cAIHA", "cAIHA_nonanemic", False, "2022-11-07", "2023-06-30", 12.9, 13.8,
             0.9, "NE", False, "", "", "", "", "", "", "", "", True, True, 4, "2022-11-28", ""],
        ],
        columns=["patient_id", "site", "diagnosis", "analysis_group", "efficacy_set",
                 "first_dose_date", "last_followup_date", "baseline_hb", "max_hb", "hb_change",
                 "best_response", "responder", "response_date", "relapse_date", "relapse_reason",
                 "ongoing", "duration_days", "duration_months", "event", "evans", "acrocyanosis",
                 "acrocyanosis_response", "n_doses", "last_dose_date", "new_therapy_date"],
    )

    aes = pd.DataFrame(
        [
            [P[2], 1, "2022-03-27", 20, "Pneumonia", 3, True, "Admitted for IV antibiotics", 2],
            [P[0], 1, "2022-01-25", 15, "Upper respiratory infection", 2, False, INJECT, 1],
            [P[1], 1, "2022-02-14", 0, "Infusion related reaction", 1, False,
             "Mild chills during first infusion", 1],
        ],
        columns=["patient_id", "ae_number", "onset_date", "day", "term", "grade", "serious",
                 "description", "reports"],
    )
    cleaning = pd.DataFrame(
        [
            ["LON/labs.csv", 14, "value", "1290", "129", "Hb in g/L typed with an extra digit"],
            ["VIE/labs.csv", 5, "value", "4.1", "4.1", "suspicious: outside 5.0-17.5 g/dL"],
            ["AMS/patients.csv", 2, "comment", INJECT, INJECT, "free text kept as text"],
        ],
        columns=["file", "row", "field", "old", "new", "reason"],
    )
    km = pd.DataFrame(
        [
            ["wAIHA", 0.0, 1.0, 1.0, 1.0, 2, 0, 0],
            ["wAIHA", 2.0, 0.5, 0.0578, 0.9103, 2, 1, 0],
            ["wAIHA", 15.0, 0.5, 0.0578, 0.9103, 1, 0, 1],
            ["cAIHA", 0.0, 1.0, 1.0, 1.0, 1, 0, 0],
            ["cAIHA", 16.0, 1.0, 1.0, 1.0, 1, 0, 1],
        ],
        columns=["group", "time_months", "survival", "ci_lower", "ci_upper", "at_risk", "events",
                 "censored"],
    )

    groups = ["all", "wAIHA", "cAIHA", "cAIHA_nonanemic"]
    s: list[Stat] = []
    n_treated = {"all": 6, "wAIHA": 3, "cAIHA": 2, "cAIHA_nonanemic": 1}
    for g in groups:
        s.append(Stat("n_treated", g, "n", n_treated[g], "patients"))
    for g, n in {"all": 5, "wAIHA": 3, "cAIHA": 2}.items():
        s.append(Stat("n_efficacy", g, "n", n, "patients"))
    base = {
        "age": ({"all": (66.5, 52, 77), "wAIHA": (64, 52, 71), "cAIHA": (73, 69, 77),
                 "cAIHA_nonanemic": (63, 63, 63)}, "years"),
        "prior_lines": ({"all": (2.5, 2, 4), "wAIHA": (3, 2, 4), "cAIHA": (2.5, 2, 3),
                         "cAIHA_nonanemic": (2, 2, 2)}, "lines"),
        "baseline_hb": ({"all": (8.25, 7.1, 12.9), "wAIHA": (7.4, 7.1, 7.9),
                         "cAIHA": (8.7, 8.6, 8.8), "cAIHA_nonanemic": (12.9, 12.9, 12.9)}, "g/dL"),
        "baseline_ldh": ({"all": (1.8, 1.8, 1.8), "wAIHA": (1.8, 1.8, 1.8),
                          "cAIHA": (1.8, 1.8, 1.8), "cAIHA_nonanemic": (1.8, 1.8, 1.8)}, "x ULN"),
    }
    for sid, (vals, unit) in base.items():
        for g, (med, lo, hi) in vals.items():
            s += [Stat(sid, g, "median", med, unit), Stat(sid, g, "min", lo, unit),
                  Stat(sid, g, "max", hi, unit)]
    for g, n in {"all": 4, "wAIHA": 2, "cAIHA": 1, "cAIHA_nonanemic": 1}.items():
        s += [Stat("sex_female", g, "n", n, "patients"),
              Stat("sex_female", g, "proportion", n / n_treated[g], "proportion")]
    for g, n in {"all": 1, "wAIHA": 1, "cAIHA": 0, "cAIHA_nonanemic": 0}.items():
        s.append(Stat("evans", g, "n", n, "patients"))
    for g, n in {"all": 3, "wAIHA": 0, "cAIHA": 2, "cAIHA_nonanemic": 1}.items():
        s.append(Stat("acrocyanosis", g, "n", n, "patients"))
    s += [Stat("orr", "wAIHA", "numerator", 2, "proportion"),
          Stat("orr", "wAIHA", "denominator", 3, "proportion"),
          Stat("orr", "wAIHA", "proportion", 2 / 3, "proportion"),
          Stat("orr", "wAIHA", "ci_lower", 0.0942993240502, "proportion"),
          Stat("orr", "wAIHA", "ci_upper", 0.991596241726, "proportion")]
    for sid, num in (("cr", 1), ("pr", 1)):
        s += [Stat(sid, "wAIHA", "numerator", num, "proportion"),
              Stat(sid, "wAIHA", "denominator", 3, "proportion"),
              Stat(sid, "wAIHA", "proportion", num / 3, "proportion")]
    s += [Stat("hb_response", "cAIHA", "numerator", 1, "proportion"),
          Stat("hb_response", "cAIHA", "denominator", 2, "proportion"),
          Stat("hb_response", "cAIHA", "proportion", 0.5, "proportion"),
          Stat("hb_response", "cAIHA", "ci_lower", 0.0125791379644, "proportion"),
          Stat("hb_response", "cAIHA", "ci_upper", 0.987420862036, "proportion")]
    s += [Stat("dor_median_crude", "wAIHA", "value", 8.5, "months"),
          Stat("dor_median_crude", "cAIHA", "value", 16, "months"),
          Stat("dor_median_km", "wAIHA", "value", 2, "months"),
          Stat("dor_median_km", "wAIHA", "ci_lower", 2, "months"),
          Stat("dor_median_km", "wAIHA", "ci_upper", float("nan"), "months"),
          Stat("dor_median_km", "cAIHA", "value", float("nan"), "months"),
          Stat("dor_median_km", "cAIHA", "ci_lower", float("nan"), "months"),
          Stat("dor_median_km", "cAIHA", "ci_upper", float("nan"), "months"),
          Stat("dor_median_reported", "wAIHA", "value", 8.5, "months"),
          Stat("dor_min", "wAIHA", "value", 2, "months"),
          Stat("dor_max", "wAIHA", "value", 15, "months"),
          Stat("dor_min", "cAIHA", "value", 16, "months"),
          Stat("dor_max", "cAIHA", "value", 16, "months"),
          Stat("ongoing", "wAIHA", "numerator", 1, "patients"),
          Stat("ongoing", "wAIHA", "denominator", 2, "patients"),
          Stat("ongoing", "cAIHA", "numerator", 1, "patients"),
          Stat("ongoing", "cAIHA", "denominator", 1, "patients"),
          Stat("ongoing_duration", "wAIHA", "value_1", 15, "months"),
          Stat("nr_evans", "wAIHA", "numerator", 1, "patients"),
          Stat("nr_evans", "wAIHA", "denominator", 1, "patients"),
          Stat("nonanemic_acro_response", "cAIHA_nonanemic", "numerator", 1, "patients"),
          Stat("nonanemic_acro_response", "cAIHA_nonanemic", "denominator", 1, "patients"),
          Stat("nonanemic_hb_increase", "cAIHA_nonanemic", "numerator", 1, "patients"),
          Stat("nonanemic_hb_increase", "cAIHA_nonanemic", "denominator", 1, "patients"),
          Stat("nonanemic_hb_change", "cAIHA_nonanemic", "median", 0.9, "g/dL"),
          Stat("nonanemic_hb_change", "cAIHA_nonanemic", "min", 0.9, "g/dL"),
          Stat("nonanemic_hb_change", "cAIHA_nonanemic", "max", 0.9, "g/dL"),
          Stat("acro_improved", "cAIHA", "numerator", 2, "patients"),
          Stat("acro_improved", "cAIHA", "denominator", 3, "patients")]
    ae = {"all": (3, [1, 1, 1, 0, 0], 3), "wAIHA": (3, [1, 1, 1, 0, 0], 3),
          "cAIHA": (0, [0] * 5, 0), "cAIHA_nonanemic": (0, [0] * 5, 0)}
    for g, (n, grades, npat) in ae.items():
        s.append(Stat("ae_events", g, "n", n, "events"))
        s += [Stat("ae_grade", g, f"grade_{k + 1}", v, "events") for k, v in enumerate(grades)]
        s.append(Stat("ae_patients", g, "n", npat, "patients"))
    clinical = stats_to_frame(s, "clinical_statistics", "workflow/scripts/clinical_statistics.py",
                              "0" * 64)
    flow = stats_to_frame(
        [Stat("flow_n", "all", "n", 2, "patients"),
         Stat("flow_cd38_post_max", P[0], "value", 0.4, "%"),
         Stat("flow_cd38_post_max", P[1], "value", 0.6, "%")],
        "flow_statistics", "workflow/scripts/flow_statistics.py", "1" * 64)
    ard = pd.concat([clinical, flow], ignore_index=True)

    write_tsv(patients, OUT / "clinical/patients.tsv")
    write_tsv(labs, OUT / "clinical/labs.tsv")
    write_tsv(treatments, OUT / "clinical/treatments.tsv")
    write_tsv(transfusions, OUT / "clinical/transfusions.tsv")
    write_tsv(aes, OUT / "clinical/adverse_events.tsv")
    write_tsv(cleaning, OUT / "clinical/cleaning_log.tsv")
    write_tsv(responses, OUT / "response/responses.tsv")
    write_tsv(km, OUT / "stats/km_curve.tsv")
    write_ard(clinical, OUT / "stats/clinical_ard.tsv")
    write_ard(flow, OUT / "cytometry/flow_ard.tsv")
    write_ard(ard, OUT / "ard/ard.tsv")
    qc = pd.DataFrame(
        [["S01", P[0], "baseline", -2, "phenotype", 100000, 91234, 91.234, ""],
         ["S02", P[0], "week 2", 14, "phenotype", 100000, 88000, 88.0, ""],
         ["S03", P[1], "baseline", -1, "function", 80000, 61000, 76.25, "low_yield"]],
        columns=["sample_id", "patient_id", "visit", "day", "tube", "events_acquired",
                 "events_kept", "percent_kept", "qc_flag"])
    write_tsv(qc, OUT / "cytometry/qc.tsv")
    # Auditor tables: the claims audit, the sensitivity summary and provenance.
    audit = pd.DataFrame(
        [["w_orr", "50%", "50%", "pass", "abstract", "(CR + PR) / wAIHA", "orr/wAIHA/proportion"],
         ["c_acro", "4 of 6", "3 of 5", "fail", "abstract", "improved / with acrocyanosis",
          "acro_improved/cAIHA/numerator"],
         ["flow_n", "2", "not computed: flow_n/wAIHA/n", "missing", "abstract", "patients",
          "flow_n/wAIHA/n"]],
        columns=["id", "published", "reproduced", "status", "source", "definition", "statistics"])
    write_tsv(audit, OUT / "audit/claims.tsv")
    sensitivity = pd.DataFrame(
        [["primary", "as configured", 13, 13, ""],
         ["pr_and", "response.pr_rule = and", 13, 12, "w_orr: 42%"]],
        columns=["variant", "change", "claims_compared", "claims_reproduced", "differing"])
    write_tsv(sensitivity, OUT / "sensitivity/summary.tsv")
    # Key statistics: the primary analysis (the clinical ARD above) and one variant under
    # which the PR patient is no longer a responder (its duration of response goes).
    pr_and = clinical.copy()
    changed = {("orr", "wAIHA", "numerator"): 1, ("orr", "wAIHA", "proportion"): 1 / 3,
               ("dor_median_crude", "wAIHA", "value"): 15,
               ("dor_median_km", "wAIHA", "value"): float("nan")}
    for (sid, g, stat), value in changed.items():
        hit = (pr_and.stat_id == sid) & (pr_and.group == g) & (pr_and.statistic == stat)
        pr_and.loc[hit, "value"] = value
    variants = {"primary": {}, "pr_and": {"response": {"pr_rule": "and"}}}
    write_tsv(key_statistics(clinical, {"primary": clinical, "pr_and": pr_and}, variants),
              OUT / "sensitivity/key_statistics.tsv")
    provenance = {
        "git": {"commit": "0" * 40, "dirty": False}, "snakemake": "9.27.1",
        "packages": {"pandas": "2.3.3", "weasyprint": "70.0", "lifelines": "0.30.3"},
        "data_cutoff": "2023-06-30", "config": {"file": "config.yaml", "sha256": "a" * 64},
        "raw_inputs": {"data/demo/AMS/labs.csv": "b" * 64}, "statistics": [],
    }
    provenance["raw_input_folders"] = folder_digests(provenance["raw_inputs"])
    (OUT / "provenance.json").write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")
    write_tsv(pd.DataFrame(sorted(provenance["raw_inputs"].items()), columns=["path", "sha256"]),
              OUT / "raw_inputs.tsv")
    plt.rcParams["svg.hashsalt"] = "aiha-fixture"
    for name in ["gating_strategy", "cd38_timecourse", "tcell_subsets", "proliferation"]:
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.plot([0, 14, 28], [40, 0.5, 0.4], marker="o")
        ax.set_xlabel("Day")
        ax.set_ylabel("% of CD3+")
        ax.set_title(f"fixture: {name}")
        (OUT / "cytometry/figures").mkdir(parents=True, exist_ok=True)
        fig.savefig(OUT / f"cytometry/figures/{name}.svg", metadata={"Date": None, "Creator": None})
        plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
