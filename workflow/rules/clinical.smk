from aiha.pseudonym import check_not_demo_key, is_demo_key, read_key


def _demo_key_check():
    """The committed demo key is refused for real data before any job runs (a job
    that ran with it, cytometry gating included, would write reversible pseudonyms).
    It still serves a copy of the demo export (only demo patients)."""
    data = config["data"]
    if data["generate_demo"] or not is_demo_key(read_key(data["pseudonym_key_file"])):
        return
    from aiha.cleaning import load_site_profiles
    from aiha.cleaning.study import export_records
    from aiha.demo.cohort import load_spec

    spec = load_spec(data["demo_spec"], data["demo_multiplier"])
    demo = {(p.site, p.record_number) for p in spec.patients}
    found = export_records(RAW, site_codes(), load_site_profiles(SITE_PROFILES))
    check_not_demo_key(data["pseudonym_key_file"], False, found, demo)


_demo_key_check()


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
