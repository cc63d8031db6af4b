"""The main report keeps its shape at any number of patients: per-patient rows beyond
``report.max_patient_rows`` and per-file input digests go to the listings document;
the report prints one digest per input folder. And each reproduced claim links to its
ARD row."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from aiha import formatting as F
from aiha.ard import read_ard, read_text_tsv
from aiha.provenance import folder_digests
from aiha.report.context import build_context, build_listings_context
from aiha.report.model import GROUP_LABELS, anchor

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests/data/report/results"


@pytest.fixture(scope="module")
def cfg() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))


def tables(results: Path) -> dict:
    out = {k: read_text_tsv(results / p) for k, p in {
        "cleaning_log": "clinical/cleaning_log.tsv",
        "cleaning_summary": "stats/cleaning_summary.tsv", "sensitivity": "sensitivity/summary.tsv",
        "cytometry_qc": "cytometry/qc.tsv", "audit": "audit/claims.tsv",
        "responses": "response/responses.tsv", "patients": "clinical/patients.tsv",
        "labs": "clinical/labs.tsv", "adverse_events": "clinical/adverse_events.tsv",
        "key_statistics": "sensitivity/key_statistics.tsv"}.items()}
    out["ard"] = read_ard(results / "ard/ard.tsv")
    return out


PROVENANCE = json.loads((FIXTURE / "provenance.json").read_text(encoding="utf-8"))


def with_cap(cfg: dict, cap: int) -> dict:
    out = copy.deepcopy(cfg)
    out["report"]["max_patient_rows"] = cap
    return out


def test_folder_digest_is_that_of_the_sha256sum_listing(tmp_path: Path) -> None:
    files = {"site/b.csv": b"2\n", "site/a.csv": b"1\n", "flow/x.fcs": b"\x00FCS"}
    for rel, data in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    digests = {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}
    got = folder_digests(digests)
    assert sorted(got) == ["flow", "site"]
    assert got["site"]["files"] == 2 and got["flow"]["files"] == 1
    # The independent path: coreutils, as the report's note tells the reader.
    for folder in ("site", "flow"):
        names = sorted(rel for rel in files if rel.startswith(folder + "/"))
        listing = subprocess.run(["sha256sum", *names], cwd=tmp_path, check=True,
                                 capture_output=True).stdout
        assert got[folder]["sha256"] == hashlib.sha256(listing).hexdigest()


def test_appendix_b_prints_one_row_per_folder_the_listings_each_file(cfg: dict) -> None:
    provenance = json.loads((FIXTURE / "provenance.json").read_text(encoding="utf-8"))
    many = {f"data/cytometry/FCM{i:04d}.fcs": f"{i:064x}" for i in range(500)}
    provenance = {**provenance, "raw_inputs": {**provenance["raw_inputs"], **many}}
    provenance["raw_input_folders"] = folder_digests(provenance["raw_inputs"])
    t = tables(FIXTURE)
    main = build_context(t, cfg, provenance)["tables"]["inputs"]
    assert [r[0] for r in main.rows] == ["data/cytometry/", "data/demo/AMS/"]
    assert main.rows[0][1] == F.fmt_count(500)
    listing = build_listings_context(t, cfg, provenance["raw_inputs"])["tables"]["raw_files"]
    assert len(listing.rows) == 501
    assert dict(map(tuple, listing.rows)) == provenance["raw_inputs"]


def test_cytometry_per_patient_rows_move_to_the_listings_beyond_the_cap(cfg: dict) -> None:
    t = tables(FIXTURE)
    ard = t["ard"]
    patients = sorted(set(ard[ard.stat_id.str.startswith("flow_")
                              & ard.group.str.startswith("PT-")].group))
    assert len(patients) >= 2
    # At the cap: printed in the report, with links.
    at_cap = build_context(t, with_cap(cfg, len(patients)), PROVENANCE)["tables"]
    assert [str(r[0]) for r in at_cap["flow_patients"].rows] == patients
    # One below: not in the report, and none of its rows in Appendix D.
    below = build_context(t, with_cap(cfg, len(patients) - 1), PROVENANCE)
    assert "flow_patients" not in below["tables"]
    used = {str(r[1]) for r in below["tables"]["ard_rows"].rows}
    assert not used & set(patients)
    # The listings always carry every patient; a number links to its row in the
    # listings' own table of each patient's ARD rows (no Appendix D there).
    listing = build_listings_context(t, with_cap(cfg, 0))["tables"]
    assert [str(r[0]) for r in listing["flow_patients"].rows] == patients
    own_rows = set(listing["flow_ard_patients"].row_ids)
    assert len(own_rows) == len(listing["flow_ard_patients"].rows)
    assert all(a in own_rows for r in listing["flow_patients"].rows for c in r
               for a in getattr(c, "anchors", []))
    assert "Appendix D" not in listing["flow_patients"].links_to
    # Appendix E keeps the study-level rows; each patient's rows are listed.
    assert all(str(r[1]) not in patients for r in below["tables"]["flow_ard"].rows)
    flow_pt = ard[ard.stat_id.str.startswith("flow_") & ard.group.str.startswith("PT-")]
    assert len(listing["flow_ard_patients"].rows) == len(flow_pt)


def test_ongoing_durations_listed_up_to_the_cap_then_their_range(cfg: dict) -> None:
    t = tables(FIXTURE)
    ard = t["ard"]
    durations = ard[ard.stat_id == "ongoing_duration"]
    group = durations.group.value_counts().idxmax()
    col = 1 + ["wAIHA", "cAIHA", "cAIHA_nonanemic"].index(group)
    values = sorted(float(v) for v in durations[durations.group == group].value)
    assert values

    def printed(cap: int) -> str:
        table = build_context(t, with_cap(cfg, cap), PROVENANCE)["tables"]["response"]
        row = next(r for r in table.rows if str(r[0]) == "Durations of ongoing responses")
        return str(row[col])

    listed = printed(len(values))
    assert listed.count(",") == len(values) - 1
    ranged = printed(len(values) - 1)
    assert "," not in ranged and "listings" in ranged and "listings" not in listed
    lo, hi = (F.fmt_number(v, 0 if v == round(v) else 1) for v in (values[0], values[-1]))
    assert ranged.startswith(f"{lo}{F.EN_DASH}{hi} months")
    # Beyond the cap, Appendix D holds the two rows printed, not every patient's.
    appendix = build_context(t, with_cap(cfg, len(values) - 1), PROVENANCE)["tables"]["ard_rows"]
    printed_rows = [r for r in appendix.rows
                    if str(r[0]) == "ongoing_duration" and str(r[1]) == GROUP_LABELS[group]]
    assert len(printed_rows) == min(2, len(values))


def test_each_reproduced_claim_links_each_number_to_the_row_that_holds_it(cfg: dict) -> None:
    """Each number of a reproduced claim links to the row its statistics name that
    holds it (both ends of a range, numerator and denominator); a number no named row
    holds has no link. The claims are built here from the fixture's ARD values."""
    t = tables(FIXTURE)
    v = {k: val for k, val in zip(zip(t["ard"].stat_id, t["ard"].group, t["ard"].statistic),
                                  t["ard"].value)}
    lo, hi = v[("dor_min", "wAIHA", "value")], v[("dor_max", "wAIHA", "value")]
    num, den = v[("nr_evans", "wAIHA", "numerator")], v[("nr_evans", "wAIHA", "denominator")]
    claims = [
        ("w_dor_range", f"{lo:g}-{hi:g} months", "dor_min/wAIHA/value; dor_max/wAIHA/value",
         [("dor_min", "wAIHA", "value"), ("dor_max", "wAIHA", "value")]),
        ("w_nr_evans", f"{num:g} of {den:g}", "nr_evans/wAIHA/numerator; nr_evans/wAIHA/denominator",
         [("nr_evans", "wAIHA", "numerator"), ("nr_evans", "wAIHA", "denominator")]),
        # A value that is not the row's (2/3 is not 50%): no link.
        ("w_orr", "50%", "orr/wAIHA/proportion", []),
    ]
    assert v[("orr", "wAIHA", "proportion")] != 0.5
    t["audit"] = pd.DataFrame([{"id": c, "published": text, "reproduced": text, "status": "pass",
                                "source": "abstract", "definition": "d", "statistics": stats}
                               for c, text, stats, _ in claims])
    ctx = build_context(t, cfg, PROVENANCE)
    appendix = set(ctx["tables"]["ard_rows"].row_ids)
    for row, (claim, _, _, expected) in zip(ctx["tables"]["audit"].rows, claims):
        assert row[2].anchors == [anchor(k) for k in expected], claim
        assert set(row[2].anchors) <= appendix
