from aiha.clinical_plan import clinical_params, demo_key_check

# The committed demo key is refused for real data before any job runs.
demo_key_check(config, RAW, site_codes)
CLINICAL_PARAMS = clinical_params(config, site_codes())


rule validate_clinical:
    """Validate every site export (schemas, codes, units, limits, dates) before cleaning."""
    input:
        raw=clinical_raw_files(),
        site_profiles=SITE_PROFILES,
        key=config["data"]["pseudonym_key_file"],
    output:
        summary="results/validation/clinical_inputs.tsv",
    log:
        "results/logs/validate_clinical.log",
    priority: CRITICAL_PATH
    conda:
        "../../envs/clinical.yaml"
    threads: 1
    # pandas holds the exports as text several times over: memory grows with them
    resources:
        mem_mb=lambda wc, input: max(1000, int(600 + 25 * input.size_mb)),
        runtime=lambda wc, input: max(10, int(5 + input.size_mb)),
    params:
        **CLINICAL_PARAMS,
        code=script_code("clean_clinical"),
    script:
        "../scripts/clean_clinical.py"


rule clean_clinical:
    """Normalize units, map codes, pseudonymize: site exports -> tidy tables."""
    input:
        validated="results/validation/clinical_inputs.tsv",
        raw=clinical_raw_files(),
        site_profiles=SITE_PROFILES,
        key=config["data"]["pseudonym_key_file"],
    output:
        patients="results/clinical/patients.tsv",
        labs="results/clinical/labs.tsv",
        transfusions="results/clinical/transfusions.tsv",
        treatments="results/clinical/treatments.tsv",
        adverse_events="results/clinical/adverse_events.tsv",
        cleaning_log="results/clinical/cleaning_log.tsv",
    log:
        "results/logs/clean_clinical.log",
    priority: CRITICAL_PATH
    conda:
        "../../envs/clinical.yaml"
    threads: 1
    # pandas holds the exports as text several times over: memory grows with them
    resources:
        mem_mb=lambda wc, input: max(1000, int(600 + 25 * input.size_mb)),
        runtime=lambda wc, input: max(10, int(5 + input.size_mb)),
    params:
        **CLINICAL_PARAMS,
        code=script_code("clean_clinical"),
    script:
        "../scripts/clean_clinical.py"
