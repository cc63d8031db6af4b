from aiha.pseudonym import check_not_demo_key

# The committed demo key is refused for real data before any job runs (a job that
# ran with it, cytometry gating included, would write reversible pseudonyms).
check_not_demo_key(config["data"]["pseudonym_key_file"], config["data"]["generate_demo"])


def clinical_params():
    """Config values the cleaning uses (params: a change reruns the cleaning)."""
    return dict(
        sites=site_codes(),
        data_cutoff=config["data"]["data_cutoff"],
        export_date=config["data"].get("export_date"),
        generate_demo=config["data"]["generate_demo"],
        cleaning=config["cleaning"],
    )


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
    conda:
        "../../envs/clinical.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        **clinical_params(),
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
    conda:
        "../../envs/clinical.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        **clinical_params(),
    script:
        "../scripts/clean_clinical.py"
