# Independent double programming in R: every ARD statistic recomputed by
# workflow/scripts/qc_r_double_programming.R from the analysis datasets (never from
# a Python-computed statistic), then compared with the ARD row by row.

# Inputs of the R programme: the ADaM Dataset-JSON files of rule adam_datasets (the
# datasets the statistics stage reads), by lower-case dataset name. ADCYT is among
# them with or without cytometry (zero records without); it carries the sample QC
# flags and days, so no cytometry table is read.
R_QC_INPUTS = {n.lower(): f"results/adam/{n.lower()}.json" for n in ADAM_DATASETS}


rule qc_r_double_programming:
    """Every ARD statistic recomputed in R (survival::survfit, binom.test)."""
    input:
        **R_QC_INPUTS,
    output:
        table="results/qc/r_statistics.tsv",
        session="results/qc/r_session.txt",
    log:
        "results/logs/qc_r_double_programming.log",
    conda:
        "../../envs/qc_r.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        cfg=json.dumps(qc_r_config(config), sort_keys=True),
        cytometry=CYTO_ENABLED,
    script:
        "../scripts/qc_r_double_programming.R"


rule qc_r_compare:
    """Every ARD row matched with the R result; fails on a disagreement or an
    unmatched row."""
    input:
        ard="results/ard/ard.tsv",
        r="results/qc/r_statistics.tsv",
        session="results/qc/r_session.txt",
    output:
        table="results/qc/r_double_programming.tsv",
        summary="results/qc/r_double_programming_summary.tsv",
    log:
        "results/logs/qc_r_compare.log",
    localrule: True
    conda:
        "../../envs/statistics.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=script_code("qc_r_compare"),
        cfg=qc_compare_config(config),
    script:
        "../scripts/qc_r_compare.py"
