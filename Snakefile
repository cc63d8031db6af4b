# Reproducible re-analysis of Jalink et al., Blood Adv 2024:
# daratumumab monotherapy in refractory wAIHA and cAIHA.
# One command rebuilds the study: snakemake --cores all


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/clinical.smk"
include: "workflow/rules/response.smk"
include: "workflow/rules/cytometry.smk"
include: "workflow/rules/adam.smk"
include: "workflow/rules/statistics.smk"
include: "workflow/rules/ars.smk"
include: "workflow/rules/qc_r.smk"
include: "workflow/rules/sensitivity.smk"
include: "workflow/rules/audit.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        "results/ard/ard.tsv",
        "results/adam/variables.tsv",
        "results/ars/reporting_event.json",
        ["results/audit/claims.tsv"] if CLAIMS else [],
        "results/qc/double_programming.tsv",
        ["results/qc/r_double_programming.tsv"] if R_QC else [],
        "results/provenance.json",
        "results/sensitivity/sensitivity.tsv",
        "results/report/study_report.pdf",
        "results/report/study_listings.pdf",
        # The published manifests: absent after a failed publish, so the next run
        # publishes again (workflow/rules/report.smk, rule publish_report).
        "results/report/study_report.manifest.json",
        "results/report/study_listings.manifest.json",
