VARIANTS = list(config["sensitivity"]["variants"])


wildcard_constraints:
    variant="|".join(VARIANTS) if VARIANTS else "no_variant",


rule sensitivity_responses:
    """Response scoring under one sensitivity variant."""
    input:
        patients="results/clinical/patients.tsv",
        labs="results/clinical/labs.tsv",
        transfusions="results/clinical/transfusions.tsv",
        treatments="results/clinical/treatments.tsv",
    output:
        responses="results/sensitivity/{variant}/responses.tsv",
    log:
        "results/logs/sensitivity/{variant}/responses.log",
    group:
        "sensitivity"
    conda:
        "../../envs/clinical.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        overrides=lambda w: config["sensitivity"]["variants"][w.variant],
    script:
        "../scripts/score_responses.py"


rule sensitivity_statistics:
    """Clinical statistics under one sensitivity variant."""
    input:
        patients="results/clinical/patients.tsv",
        responses="results/sensitivity/{variant}/responses.tsv",
        labs="results/clinical/labs.tsv",
        adverse_events="results/clinical/adverse_events.tsv",
    output:
        ard="results/sensitivity/{variant}/clinical_ard.tsv",
        km="results/sensitivity/{variant}/km_curve.tsv",
    log:
        "results/logs/sensitivity/{variant}/statistics.log",
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
        "../scripts/clinical_statistics.py"


rule sensitivity_audit:
    """The published claims under one sensitivity variant."""
    input:
        claims=config["audit"]["claims"],
        ard="results/sensitivity/{variant}/clinical_ard.tsv",
    output:
        claims="results/sensitivity/{variant}/claims.tsv",
    log:
        "results/logs/sensitivity/{variant}/audit.log",
    group:
        "sensitivity"
    conda:
        "../../envs/statistics.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/audit_claims.py"


rule sensitivity_table:
    """Every clinical claim under every variant, and which variants reproduce the paper."""
    input:
        expand("results/sensitivity/{variant}/claims.tsv", variant=VARIANTS),
    output:
        table="results/sensitivity/sensitivity.tsv",
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
