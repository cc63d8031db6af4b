from aiha.adam import NAMES as ADAM_DATASETS

ADAM_FILES = [f"results/adam/{n.lower()}.json" for n in ADAM_DATASETS]


rule adam_datasets:
    """Analysis datasets in ADaM shape (ADSL, ADRS, ADTTE, ADAE, ADLB, ADEX, ADCM,
    ADPR, ADCYT) as Dataset-JSON v1.1 and SAS transport v5, with their variable
    metadata."""
    input:
        **(
            {
                "populations": "results/cytometry/populations.tsv",
                "cytometry_qc": "results/cytometry/qc.tsv",
            }
            if CYTO_ENABLED
            else {}
        ),
        patients="results/clinical/patients.tsv",
        responses="results/response/responses.tsv",
        labs="results/clinical/labs.tsv",
        transfusions="results/clinical/transfusions.tsv",
        treatments="results/clinical/treatments.tsv",
        adverse_events="results/clinical/adverse_events.tsv",
        soc_map=config["safety"]["soc_map"],
    output:
        json=ADAM_FILES,
        xpt=[f"results/adam/{n.lower()}.xpt" for n in ADAM_DATASETS],
        variables="results/adam/variables.tsv",
    log:
        "results/logs/adam_datasets.log",
    priority: CRITICAL_PATH
    conda:
        "../../envs/statistics.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=script_code("adam_datasets"),
        cfg=adam_config(config),
    script:
        "../scripts/adam_datasets.py"
