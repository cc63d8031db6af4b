if config["data"]["generate_demo"]:

    rule generate_demo_cohort:
        """Synthetic demo cohort: per-site raw exports from the committed specification."""
        input:
            spec=config["data"]["demo_spec"],
            sites=SITE_PROFILES,
        output:
            files=clinical_raw_files(),
            manifest=RAW / "MANIFEST.sha256",
        log:
            "results/logs/generate_demo_cohort.log",
        priority: CRITICAL_PATH
        localrule: True
        conda:
            "../../envs/clinical.yaml"
        threads: 1
        resources:
            mem_mb=500,
            runtime=5,
        params:
            code=script_code("generate_demo_cohort"),
            multiplier=config["data"]["demo_multiplier"],
        script:
            "../scripts/generate_demo_cohort.py"
