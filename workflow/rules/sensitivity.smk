VARIANTS = list(config["sensitivity"]["variants"])


wildcard_constraints:
    variant="|".join(VARIANTS) if VARIANTS else "no_variant",


rule sensitivity_variant:
    """Scoring, statistics and claims audit under one sensitivity variant."""
    input:
        patients="results/clinical/patients.tsv",
        labs="results/clinical/labs.tsv",
        transfusions="results/clinical/transfusions.tsv",
        treatments="results/clinical/treatments.tsv",
        adverse_events="results/clinical/adverse_events.tsv",
        claims=config["audit"]["claims"],
    output:
        responses="results/sensitivity/{variant}/responses.tsv",
        ard="results/sensitivity/{variant}/clinical_ard.tsv",
        claims="results/sensitivity/{variant}/claims.tsv",
    log:
        "results/logs/sensitivity/{variant}.log",
    group:
        "sensitivity"
    conda:
        "../../envs/statistics.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        overrides=lambda w: config["sensitivity"]["variants"][w.variant],
    script:
        "../scripts/sensitivity_variant.py"


rule sensitivity_table:
    """Every clinical claim under every variant, and which variants reproduce the paper."""
    input:
        expand("results/sensitivity/{variant}/claims.tsv", variant=VARIANTS),
    output:
        table="results/sensitivity/sensitivity.tsv",
        summary="results/sensitivity/summary.tsv",
    log:
        "results/logs/sensitivity_table.log",
    localrule: True
    conda:
        "../../envs/statistics.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        variants=config["sensitivity"]["variants"],
    script:
        "../scripts/sensitivity_table.py"
