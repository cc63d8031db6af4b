rule audit_claims:
    """Published versus reproduced, claim by claim (results/audit/claims.tsv)."""
    input:
        claims=config["audit"]["claims"],
        ard="results/ard/ard.tsv",
    output:
        claims="results/audit/claims.tsv",
    log:
        "results/logs/audit_claims.log",
    conda:
        "../../envs/statistics.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    localrule: True
    script:
        "../scripts/audit_claims.py"
