if CLAIMS:

    rule audit_claims:
        """Published versus reproduced, claim by claim (results/audit/claims.tsv), from
        the ARS results (results/ars/reporting_event.json)."""
        input:
            claims=CLAIMS,
            ars="results/ars/reporting_event.json",
        output:
            claims="results/audit/claims.tsv",
        log:
            "results/logs/audit_claims.log",
        priority: CRITICAL_PATH
        localrule: True
        conda:
            "../../envs/statistics.yaml"
        threads: 1
        resources:
            mem_mb=500,
            runtime=5,
        params:
            code=script_code("audit_claims"),
            cytometry=CYTO_ENABLED,
        script:
            "../scripts/audit_claims.py"


rule raw_input_digests:
    """Every raw input file and its SHA-256 (no config: a config change does not rerun it)."""
    input:
        raw=all_raw_inputs(),
    output:
        tsv="results/raw_inputs.tsv",
    log:
        "results/logs/raw_input_digests.log",
    localrule: True
    conda:
        "../../envs/statistics.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=script_code("raw_input_digests"),
    script:
        "../scripts/raw_input_digests.py"


rule provenance:
    """Commit, environment, input hashes and the rule behind every statistic."""
    input:
        raw_digests="results/raw_inputs.tsv",
        config_file="config.yaml",
        ard="results/ard/ard.tsv",
    output:
        json="results/provenance.json",
    log:
        "results/logs/provenance.log",
    priority: CRITICAL_PATH
    localrule: True
    conda:
        "../../envs/statistics.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=script_code("provenance"),
        git=git_state(workflow.basedir),
        cfg=report_config(config),
    script:
        "../scripts/provenance.py"
