# Sensitivity analyses: scoring, statistics and the claims audit under each variant
# (its overrides merged over the config). All variants run in one job by default
# (sensitivity.jobs: single); per_variant gives one job per variant, for a cluster.
VARIANTS = list(config["sensitivity"]["variants"])
VARIANT_CONFIGS = {
    name: analysis_config(merge_overrides(config, overrides, name))
    for name, overrides in config["sensitivity"]["variants"].items()
}
SENSITIVITY_TABLES = {
    "patients": "results/clinical/patients.tsv",
    "labs": "results/clinical/labs.tsv",
    "transfusions": "results/clinical/transfusions.tsv",
    "treatments": "results/clinical/treatments.tsv",
    "adverse_events": "results/clinical/adverse_events.tsv",
}
SENSITIVITY_CLAIMS = {"claims": CLAIMS} if CLAIMS else {}


wildcard_constraints:
    variant="|".join(VARIANTS) if VARIANTS else "no_variant",


if config["sensitivity"].get("jobs", "single") == "per_variant":

    rule sensitivity_variant:
        """Scoring, statistics and claims audit under one sensitivity variant."""
        input:
            **SENSITIVITY_TABLES,
            **SENSITIVITY_CLAIMS,
        output:
            responses=["results/sensitivity/{variant}/responses.tsv"],
            ard=["results/sensitivity/{variant}/clinical_ard.tsv"],
            claims=["results/sensitivity/{variant}/claims.tsv"],
        log:
            "results/logs/sensitivity/{variant}.log",
        conda:
            "../../envs/statistics.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            code=script_code("sensitivity_variant"),
            variants=lambda wc: {wc.variant: VARIANT_CONFIGS[wc.variant]},
        script:
            "../scripts/sensitivity_variant.py"

else:

    rule sensitivity_variants:
        """Scoring, statistics and claims audit under every sensitivity variant."""
        input:
            **SENSITIVITY_TABLES,
            **SENSITIVITY_CLAIMS,
        output:
            responses=expand(
                "results/sensitivity/{variant}/responses.tsv", variant=VARIANTS
            ),
            ard=expand(
                "results/sensitivity/{variant}/clinical_ard.tsv", variant=VARIANTS
            ),
            claims=expand("results/sensitivity/{variant}/claims.tsv", variant=VARIANTS),
        log:
            "results/logs/sensitivity/variants.log",
        conda:
            "../../envs/statistics.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=lambda wc: 5 + 2 * len(VARIANTS),
        params:
            code=script_code("sensitivity_variant"),
            variants=VARIANT_CONFIGS,
        script:
            "../scripts/sensitivity_variant.py"


rule sensitivity_table:
    """Every clinical claim under every variant, which variants reproduce the paper, and
    the key efficacy statistics of the primary analysis and of each variant."""
    input:
        claims=expand("results/sensitivity/{variant}/claims.tsv", variant=VARIANTS),
        ards=expand("results/sensitivity/{variant}/clinical_ard.tsv", variant=VARIANTS),
        primary="results/stats/clinical_ard.tsv",
    output:
        table="results/sensitivity/sensitivity.tsv",
        summary="results/sensitivity/summary.tsv",
        key_statistics="results/sensitivity/key_statistics.tsv",
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
        code=script_code("sensitivity_table"),
        variants=config["sensitivity"]["variants"],
    script:
        "../scripts/sensitivity_table.py"
