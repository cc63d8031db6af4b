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


from aiha.provenance import config_sources

# Where the config in force came from (Snakemake 9): the workflow's configfile,
# each --configfile (absolute, in order) and the --config overrides.
CONFIG_SOURCES = config_sources(
    [str(p) for p in workflow.configfiles],
    [str(p) for p in (workflow.overwrite_configfiles or [])],
    dict(workflow.config_settings.config or {}),
    os.getcwd(),
)
# The gating files of the tubes that ran (GatingML or FlowJo workspaces).
GATING_FILES = (
    sorted({gating_source_file(CYTO, r["tube"]) for r in CYTO_SAMPLES.values()})
    if CYTO_ENABLED
    else []
)


rule config_in_force:
    """The merged config in force (config.yaml, every --configfile and --config
    override, schema defaults filled), as canonical YAML: its digest is the config's
    in provenance. Only provenance reads it."""
    output:
        yaml="results/config_in_force.yaml",
    log:
        "results/logs/config_in_force.log",
    localrule: True
    conda:
        "../../envs/statistics.yaml"
    threads: 1
    resources:
        mem_mb=200,
        runtime=1,
    params:
        code=script_code("config_in_force"),
        cfg=config,
    script:
        "../scripts/config_in_force.py"


rule provenance:
    """Commit, environment, config in force, input hashes and the rule behind every
    statistic."""
    input:
        **({"gating": GATING_FILES} if GATING_FILES else {}),
        **({"claims": CLAIMS} if CLAIMS else {}),
        raw_digests="results/raw_inputs.tsv",
        config_in_force="results/config_in_force.yaml",
        ard="results/ard/ard.tsv",
        site_profiles=SITE_PROFILES,
        key=config["data"]["pseudonym_key_file"],
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
        config_sources=CONFIG_SOURCES,
        gating_role=(
            "FlowJo workspace"
            if CYTO_ENABLED and CYTO["gating_source"] == "flowjo"
            else "GatingML"
        ),
    script:
        "../scripts/provenance.py"
