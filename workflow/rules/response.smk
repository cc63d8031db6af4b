rule score_responses:
    """Best response, response/relapse dates and durations per patient."""
    input:
        patients="results/clinical/patients.tsv",
        labs="results/clinical/labs.tsv",
        transfusions="results/clinical/transfusions.tsv",
        treatments="results/clinical/treatments.tsv",
    output:
        responses="results/response/responses.tsv",
    log:
        "results/logs/score_responses.log",
    priority: CRITICAL_PATH
    conda:
        "../../envs/clinical.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=script_code("score_responses"),
        cfg=scoring_config(config),
    script:
        "../scripts/score_responses.py"
