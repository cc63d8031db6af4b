from aiha.ars import ars_config


rule ars_reporting_event:
    """Every ARD row as an analysis of the CDISC Analysis Results Standard, with the
    report's tables as outputs (results/ars/reporting_event.json)."""
    input:
        ard="results/ard/ard.tsv",
    output:
        json="results/ars/reporting_event.json",
    log:
        "results/logs/ars_reporting_event.log",
    priority: CRITICAL_PATH
    localrule: True
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=script_code("ars_reporting_event"),
        cfg=ars_config(config),
    script:
        "../scripts/ars_reporting_event.py"
