REPORT_FIGURES = ["swimmer", "hb_trajectories", "km_dor", "hemolysis"]
CYTOMETRY_FIGURES = [
    "gating_strategy",
    "cd38_timecourse",
    "tcell_subsets",
    "proliferation",
]


# Named figure inputs of render_report: fig_<name> and cyto_<name>.
REPORT_FIGURE_INPUTS = {
    **{f"fig_{k}": f"results/report/figures/{k}.svg" for k in REPORT_FIGURES},
    **{
        f"cyto_{k}": f"results/cytometry/figures/{k}.svg"
        for k in (CYTOMETRY_FIGURES if CYTO_ENABLED else [])
    },
}
# Optional inputs of render_report: the cytometry QC and figure captions' facts, the
# FlowJo reconciliation and the claims audit.
REPORT_OPTIONAL_INPUTS = {
    **(
        {
            "cytometry_qc": "results/cytometry/qc.tsv",
            "cytometry_figure_facts": "results/cytometry/figures/event_figures.json",
        }
        if CYTO_ENABLED
        else {}
    ),
    **(
        {
            "flowjo_reconciliation": "results/cytometry/flowjo_reconciliation_summary.tsv",
        }
        if CYTO_ENABLED and CYTO["gating_source"] == "flowjo"
        else {}
    ),
    **({"audit": "results/audit/claims.tsv"} if CLAIMS else {}),
    # The R double programming's coverage and disagreements (rule qc_r_compare).
    **({"r_qc": "results/qc/r_double_programming_summary.tsv"} if R_QC else {}),
}


rule report_figures:
    """Swimmer plot, Hb, LDH and bilirubin courses and Kaplan-Meier plot as deterministic SVG."""
    input:
        responses="results/response/responses.tsv",
        labs="results/clinical/labs.tsv",
        treatments="results/clinical/treatments.tsv",
        transfusions="results/clinical/transfusions.tsv",
        km="results/stats/km_curve.tsv",
        ard="results/ard/ard.tsv",
    output:
        swimmer="results/report/figures/swimmer.svg",
        hb_trajectories="results/report/figures/hb_trajectories.svg",
        km_dor="results/report/figures/km_dor.svg",
        hemolysis="results/report/figures/hemolysis.svg",
    log:
        "results/logs/report_figures.log",
    priority: CRITICAL_PATH
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=script_code("report_figures"),
        cfg=figures_config(config),
    script:
        "../scripts/report_figures.py"


rule render_report:
    """The study report (HTML and PDF) from the ARD, the results tables and figures."""
    input:
        **REPORT_FIGURE_INPUTS,
        **REPORT_OPTIONAL_INPUTS,
        ard="results/ard/ard.tsv",
        cleaning_summary="results/stats/cleaning_summary.tsv",
        qc="results/qc/double_programming.tsv",
        sensitivity="results/sensitivity/summary.tsv",
        sensitivity_claims="results/sensitivity/sensitivity.tsv",
        key_statistics="results/sensitivity/key_statistics.tsv",
        provenance="results/provenance.json",
        templates=sorted(str(p) for p in Path("resources/report").glob("*.j2")),
        css="resources/report/report.css",
        fonts=[
            f"resources/fonts/{f}"
            for f in [
                "DejaVuSans.ttf",
                "DejaVuSans-Bold.ttf",
                "DejaVuSans-Oblique.ttf",
            ]
        ],
    output:
        pdf="results/report/staging/study_report.pdf",
        html="results/report/staging/study_report.html",
        manifest="results/report/staging/study_report.manifest.json",
    log:
        "results/logs/render_report.log",
    priority: CRITICAL_PATH
    conda:
        "../../envs/report.yaml"
    threads: 1
    # The patient-level listings are in their own job (render_listings): this report
    # keeps the same shape at any N.
    resources:
        mem_mb=1000,
        runtime=15,
    params:
        code=script_code("report_render"),
        cfg=report_config(config),
    script:
        "../scripts/report_render.py"


rule render_listings:
    """Patient-level listings (responses, adverse events, cleaning log, flagged labs,
    comments, cytometry samples) as their own HTML and PDF."""
    input:
        **({"cytometry_qc": "results/cytometry/qc.tsv"} if CYTO_ENABLED else {}),
        # Always: the listing of every ARD row with its rule, script and input digest.
        ard="results/ard/ard.tsv",
        raw_digests="results/raw_inputs.tsv",
        adam_variables="results/adam/variables.tsv",
        responses="results/response/responses.tsv",
        patients="results/clinical/patients.tsv",
        labs="results/clinical/labs.tsv",
        adverse_events="results/clinical/adverse_events.tsv",
        cleaning_log="results/clinical/cleaning_log.tsv",
        templates=sorted(str(p) for p in Path("resources/report").glob("*.j2")),
        css="resources/report/report.css",
        fonts=[
            f"resources/fonts/{f}"
            for f in [
                "DejaVuSans.ttf",
                "DejaVuSans-Bold.ttf",
                "DejaVuSans-Oblique.ttf",
            ]
        ],
    output:
        pdf="results/report/staging/study_listings.pdf",
        html="results/report/staging/study_listings.html",
        manifest="results/report/staging/study_listings.manifest.json",
    log:
        "results/logs/render_listings.log",
    conda:
        "../../envs/report.yaml"
    threads: 1
    # The listings grow with the cohort: peak RSS was 2.3 GB for 32 MB of inputs at
    # N = 2,000 (benchmarks/README.md).
    resources:
        mem_mb=lambda wc, input: max(2000, int(1000 + 100 * input.size_mb)),
        runtime=30,
    params:
        code=script_code("report_listings"),
        cfg=listings_config(config),
        text_max_chars=config["report"]["listings_text_max_chars"],
    script:
        "../scripts/report_listings.py"


RENDER_RULES = {
    "study_report": rules.render_report,
    "study_listings": rules.render_listings,
}


# A render writes into results/report/staging/ (with a manifest of the digests of
# everything it read); this job checks the staged document against the current
# inputs and only then replaces the published PDF and HTML, each atomically.
# Snakemake deletes a job's outputs before it runs it and after it fails: the
# published PDF and HTML are update() outputs, which it leaves in place (and
# restores after a failure), while the published manifest is a plain output, so a
# failed publish leaves it absent and the next run publishes again. The render
# params are the publish job's too: whatever failed before (render,
# publish, a killed job), the next run rebuilds what is out of date.
rule publish_report:
    """Publish a rendered document (PDF and HTML) under results/report/ when its
    manifest matches the current inputs (aiha.report.render.publish_document)."""
    input:
        # The render job's inputs are the publish job's too: a change in any of them
        # (newer than the published manifest) republishes even when a failed render
        # left no staged file behind.
        lambda wc: list(RENDER_RULES[wc.doc].input),
        pdf="results/report/staging/{doc}.pdf",
        html="results/report/staging/{doc}.html",
        manifest="results/report/staging/{doc}.manifest.json",
    output:
        pdf=update("results/report/{doc}.pdf"),
        html=update("results/report/{doc}.html"),
        manifest="results/report/{doc}.manifest.json",
    log:
        "results/logs/publish_{doc}.log",
    wildcard_constraints:
        doc="study_report|study_listings",
    localrule: True
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=100,
        runtime=1,
    params:
        code=script_code("report_publish"),
        # The render's params: a config change reruns the publish job too.
        render=lambda wc: {
            "code": RENDER_RULES[wc.doc].params.code,
            "cfg": RENDER_RULES[wc.doc].params.cfg,
        },
    script:
        "../scripts/report_publish.py"
