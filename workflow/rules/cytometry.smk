# Cytometry arm: demo FCS files -> gating jobs (one per patient, or one per FCS
# file) -> aggregation -> flow_* claims (ARD) and figures. Domain logic lives in
# src/aiha/cytometry/. The arm is optional: with cytometry.enabled false, no
# cytometry section in the config, or no cytometry data, no cytometry job runs and
# the report says there are no flow-cytometry data.
import re
from pathlib import Path

from aiha.cytometry.plan import (
    cytometry_enabled,
    gating_source_file,
    gating_units,
    pick_samples,
    sample_rows,
)
from aiha.cytometry.populations import tube_populations
from aiha.pseudonym import read_key
from aiha.settings import (
    cytometry_claims_config,
    cytometry_event_figures_config,
    cytometry_summary_figures_config,
)

CYTO_RAW = Path(config["data"]["raw_dir"]) / "cytometry"
CYTO_SHEET = CYTO_RAW / "samples.csv"
CYTO_OUT = Path("results/cytometry")
CYTO_LOGS = Path("results/logs/cytometry")
CYTO_ENV = "../../envs/cytometry.yaml"
CYTO_ENABLED = cytometry_enabled(config)
CYTO = config.get("cytometry") or {}

if CYTO_ENABLED:
    CYTO_SAMPLES = sample_rows(config)
else:
    CYTO_SAMPLES = {}
CYTO_IDS = sorted(CYTO_SAMPLES)
# FCS path of each sample id (also used by all_raw_inputs in common.smk).
CYTO_FCS = {s: str(CYTO_RAW / row["file"]) for s, row in CYTO_SAMPLES.items()}
# One gating job per unit (config cytometry.gating_jobs: a patient's files, or one file).
CYTO_UNITS = (
    gating_units(
        CYTO_SAMPLES,
        CYTO["gating_jobs"],
        read_key(config["data"]["pseudonym_key_file"]),
    )
    if CYTO_ENABLED
    else {}
)
# The gating figure shows one sample: the first patient's phenotype tube at the
# first of the gating visits that patient has.
CYTO_GATING_IDS = (
    pick_samples(CYTO_SAMPLES, "phenotype", CYTO["figures"]["gating_visits"], 1)[:1]
    if CYTO_ENABLED
    else []
)
CYTO_PROLIF_IDS = (
    pick_samples(
        CYTO_SAMPLES,
        "function",
        CYTO["figures"]["proliferation_visits"],
        CYTO["figures"]["proliferation_max_patients"],
    )
    if CYTO_ENABLED
    else []
)


# What a gating job needs of config cytometry (so a change reruns the gating).
CYTO_GATE_SETTINGS = (
    {
        **{
            k: CYTO[k]
            for k in (
                "gating_source",
                "transform",
                "asinh",
                "gate_in_linear_units",
                "qc",
            )
        },
        "panel": CYTO.get("panel") or {},
        "missing_spillover": CYTO.get("missing_spillover", "refuse"),
        "fcs_ignore_offset_error": bool(CYTO.get("fcs_ignore_offset_error", False)),
        "tube_populations": tube_populations(CYTO["populations"]),
    }
    if CYTO_ENABLED
    else {}
)


if CYTO_ENABLED:

    wildcard_constraints:
        unit="|".join(re.escape(u) for u in CYTO_UNITS) or "NO_SAMPLES",

    if config["data"]["generate_demo"]:

        rule cytometry_demo_fcs:
            input:
                spec=config["data"]["demo_spec"],
            output:
                fcs=[CYTO_FCS[s] for s in CYTO_IDS],
                sheet=CYTO_RAW / "samples.csv",
                manifest=CYTO_RAW / "MANIFEST.sha256",
            log:
                CYTO_LOGS / "demo_fcs.log",
            conda:
                CYTO_ENV
            threads: 1
            resources:
                mem_mb=1000,
                runtime=10,
            params:
                code=script_code("cytometry_demo_fcs"),
                demo=CYTO["demo"],
                multiplier=config["data"]["demo_multiplier"],
            script:
                "../scripts/cytometry_demo_fcs.py"

    # The sheet check needs the FCS files to exist, not their contents: they are no
    # inputs here, so touching one FCS file does not rerun it.
    rule cytometry_sample_sheet:
        input:
            sheet=CYTO_RAW / "samples.csv",
            patients="results/clinical/patients.tsv",
            key=config["data"]["pseudonym_key_file"],
            # identifiers of every patient: free text of the sheet is scrubbed of them
            patients_raw=[str(RAW / s / "patients.csv") for s in site_codes()],
            site_profiles=SITE_PROFILES,
        output:
            samples=CYTO_OUT / "samples.tsv",
        log:
            CYTO_LOGS / "sample_sheet.log",
        conda:
            CYTO_ENV
        threads: 1
        resources:
            mem_mb=500,
            runtime=5,
        params:
            code=script_code("cytometry_sample_sheet"),
            # collection dates are checked like clinical dates
            data_cutoff=str(config["data"]["data_cutoff"]),
            export_date=config["data"].get("export_date"),
            days_window=config["cleaning"]["sample_days_from_first_dose"],
        script:
            "../scripts/cytometry_sample_sheet.py"

    rule cytometry_gate:
        input:
            fcs=lambda wc: [CYTO_FCS[s] for s in CYTO_UNITS[wc.unit]],
            gating=lambda wc: sorted(
                {
                    gating_source_file(CYTO, CYTO_SAMPLES[s]["tube"])
                    for s in CYTO_UNITS[wc.unit]
                }
            ),
        output:
            populations=CYTO_OUT / "gated" / "{unit}.populations.tsv",
            qc=CYTO_OUT / "gated" / "{unit}.qc.tsv",
        log:
            CYTO_LOGS / "gate_{unit}.log",
        conda:
            CYTO_ENV
        threads: 1
        resources:
            mem_mb=1500,
            runtime=lambda wc: 5 + len(CYTO_UNITS[wc.unit]),
        params:
            code=script_code("cytometry_gate"),
            samples=lambda wc: [
                {
                    "sample_id": s,
                    "fcs": CYTO_FCS[s],
                    "gating": gating_source_file(CYTO, CYTO_SAMPLES[s]["tube"]),
                    "tube": CYTO_SAMPLES[s]["tube"],
                    "workspace_sample": CYTO_SAMPLES[s].get("workspace_sample", ""),
                }
                for s in CYTO_UNITS[wc.unit]
            ],
            cyto=CYTO_GATE_SETTINGS,
        script:
            "../scripts/cytometry_gate.py"

    rule cytometry_aggregate:
        input:
            samples=CYTO_OUT / "samples.tsv",
            populations=expand(
                CYTO_OUT / "gated" / "{unit}.populations.tsv", unit=CYTO_UNITS
            ),
            qc=expand(CYTO_OUT / "gated" / "{unit}.qc.tsv", unit=CYTO_UNITS),
        output:
            populations=CYTO_OUT / "populations.tsv",
            qc=CYTO_OUT / "qc.tsv",
        log:
            CYTO_LOGS / "aggregate.log",
        conda:
            CYTO_ENV
        threads: 1
        resources:
            mem_mb=1000,
            runtime=5,
        params:
            code=script_code("cytometry_aggregate"),
        script:
            "../scripts/cytometry_aggregate.py"

    rule cytometry_claims:
        """The flow_* statistics, from the analysis datasets."""
        input:
            adcyt="results/adam/adcyt.json",
            adsl="results/adam/adsl.json",
            adrs="results/adam/adrs.json",
        output:
            ard=CYTO_OUT / "flow_ard.tsv",
        log:
            CYTO_LOGS / "claims.log",
        conda:
            CYTO_ENV
        threads: 1
        resources:
            mem_mb=500,
            runtime=5,
        params:
            code=script_code("cytometry_claims"),
            cyto=cytometry_claims_config(CYTO),
        script:
            "../scripts/cytometry_claims.py"

    rule cytometry_summary_figures:
        input:
            populations=CYTO_OUT / "populations.tsv",
            qc=CYTO_OUT / "qc.tsv",
            labs="results/clinical/labs.tsv",
            responses="results/response/responses.tsv",
        output:
            cd38=CYTO_OUT / "figures" / "cd38_timecourse.svg",
            subsets=CYTO_OUT / "figures" / "tcell_subsets.svg",
        log:
            CYTO_LOGS / "summary_figures.log",
        conda:
            CYTO_ENV
        threads: 1
        resources:
            mem_mb=1000,
            runtime=5,
        params:
            code=script_code("cytometry_summary_figures"),
            cyto=cytometry_summary_figures_config(CYTO),
        script:
            "../scripts/cytometry_summary_figures.py"

    rule cytometry_event_figures:
        input:
            samples=CYTO_OUT / "samples.tsv",
            # QC: a sample the statistics exclude is drawn greyed, with the reason
            qc=CYTO_OUT / "qc.tsv",
            gating_phenotype=gating_source_file(CYTO, "phenotype"),
            gating_function=gating_source_file(CYTO, "function"),
            gating_fcs=[CYTO_FCS[s] for s in CYTO_GATING_IDS],
            proliferation_fcs=[CYTO_FCS[s] for s in CYTO_PROLIF_IDS],
        output:
            gating=CYTO_OUT / "figures" / "gating_strategy.svg",
            proliferation=CYTO_OUT / "figures" / "proliferation.svg",
            # what the captions of the two figures print (sample, thresholds, ...)
            facts=CYTO_OUT / "figures" / "event_figures.json",
        log:
            CYTO_LOGS / "event_figures.log",
        conda:
            CYTO_ENV
        threads: 1
        resources:
            mem_mb=2000,
            runtime=10,
        params:
            code=script_code("cytometry_event_figures"),
            cyto=cytometry_event_figures_config(CYTO),
            gating_ids=CYTO_GATING_IDS,
            proliferation_ids=CYTO_PROLIF_IDS,
            qc={
                k: CYTO["qc"][k]
                for k in ("exclude_flagged", "min_events_kept", "min_percent_kept")
            },
            workspace_samples={
                s: CYTO_SAMPLES[s].get("workspace_sample", "")
                for s in CYTO_GATING_IDS + CYTO_PROLIF_IDS
            },
        script:
            "../scripts/cytometry_event_figures.py"

    if CYTO["gating_source"] == "flowjo":

        # FlowJo's own stored counts against the pipeline's, per sample and
        # population (docs/cytometry.md: polygons and ellipses differ slightly
        # because FlowJo evaluates them on binned data).
        rule cytometry_flowjo_reconciliation:
            input:
                populations=CYTO_OUT / "populations.tsv",
                workspaces=sorted(
                    {
                        gating_source_file(CYTO, r["tube"])
                        for r in CYTO_SAMPLES.values()
                    }
                ),
            output:
                table=CYTO_OUT / "flowjo_reconciliation.tsv",
                summary=CYTO_OUT / "flowjo_reconciliation_summary.tsv",
            log:
                CYTO_LOGS / "flowjo_reconciliation.log",
            conda:
                CYTO_ENV
            threads: 1
            resources:
                mem_mb=500,
                runtime=5,
            params:
                code=script_code("cytometry_flowjo_reconciliation"),
                samples={
                    s: [
                        gating_source_file(CYTO, r["tube"]),
                        r.get("workspace_sample") or r["file"],
                    ]
                    for s, r in CYTO_SAMPLES.items()
                },
                tolerance_percent=(CYTO.get("reconciliation") or {}).get(
                    "tolerance_percent", 1.0
                ),
            script:
                "../scripts/cytometry_flowjo_reconciliation.py"
