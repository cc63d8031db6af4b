rule clinical_statistics:
    """ORR with exact CIs, durations (crude and Kaplan-Meier), baseline, AEs: from
    the analysis datasets."""
    input:
        adsl="results/adam/adsl.json",
        adrs="results/adam/adrs.json",
        adtte="results/adam/adtte.json",
        adae="results/adam/adae.json",
    output:
        ard="results/stats/clinical_ard.tsv",
        km="results/stats/km_curve.tsv",
    log:
        "results/logs/clinical_statistics.log",
    priority: CRITICAL_PATH
    conda:
        "../../envs/statistics.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=script_code("clinical_statistics"),
        cfg=statistics_config(config),
    script:
        "../scripts/clinical_statistics.py"


rule clinical_content:
    """Exposure, transfusion burden, time to response, AE by term and grade, baseline
    bilirubin and prior therapies: ARD rows for the report's clinical tables, from the
    analysis datasets."""
    input:
        adsl="results/adam/adsl.json",
        adtte="results/adam/adtte.json",
        adex="results/adam/adex.json",
        adcm="results/adam/adcm.json",
        adpr="results/adam/adpr.json",
        adae="results/adam/adae.json",
    output:
        ard="results/stats/content_ard.tsv",
    log:
        "results/logs/clinical_content.log",
    conda:
        "../../envs/statistics.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=script_code("content_statistics"),
        cfg=content_config(config),
    script:
        "../scripts/content_statistics.py"


rule cleaning_summary:
    """The cleaning log counted by kind of action (the routine actions of
    report.cleaning_log_routine; the rest are listed individually)."""
    input:
        log="results/clinical/cleaning_log.tsv",
    output:
        summary="results/stats/cleaning_summary.tsv",
    log:
        "results/logs/cleaning_summary.log",
    conda:
        "../../envs/statistics.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=script_code("cleaning_summary"),
        cfg=cleaning_summary_config(config),
    script:
        "../scripts/cleaning_summary.py"


rule assemble_ard:
    """All numbers of the study in one analysis-results table."""
    input:
        "results/stats/clinical_ard.tsv",
        "results/stats/content_ard.tsv",
        ["results/cytometry/flow_ard.tsv"] if CYTO_ENABLED else [],
    output:
        ard="results/ard/ard.tsv",
    log:
        "results/logs/assemble_ard.log",
    priority: CRITICAL_PATH
    localrule: True
    conda:
        "../../envs/statistics.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=script_code("assemble_ard"),
    script:
        "../scripts/assemble_ard.py"


rule qc_double_programming:
    """Second implementation of the key statistics; fails on any disagreement."""
    input:
        ard="results/stats/clinical_ard.tsv",
        km="results/stats/km_curve.tsv",
        patients="results/clinical/patients.tsv",
        responses="results/response/responses.tsv",
        adverse_events="results/clinical/adverse_events.tsv",
    output:
        qc="results/qc/double_programming.tsv",
    log:
        "results/logs/qc_double_programming.log",
    conda:
        "../../envs/statistics.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=script_code("qc_double_programming"),
        cfg=qc_config(config),
    script:
        "../scripts/qc_double_programming.py"
