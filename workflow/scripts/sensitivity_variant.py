"""One sensitivity variant: scoring, statistics and the claims audit under the
variant's config overrides (rule sensitivity_variant)."""

import sys
from datetime import date

from aiha.ard import inputs_digest, read_ard, stats_to_frame, write_ard, write_tsv
from aiha.ard import read_tsv as read
from aiha.audit import evaluate, load_claims
from aiha.response import ResponseCriteria, score_cohort
from aiha.sensitivity import apply_overrides
from aiha.statistics import clinical_statistics

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821
inp, out = snakemake.input, snakemake.output  # noqa: F821
cfg = apply_overrides(snakemake.config, snakemake.params.overrides)  # noqa: F821
patients, labs = read(inp.patients), read(inp.labs)
responses = score_cohort(
    patients=patients,
    labs=labs,
    transfusions=read(inp.transfusions),
    treatments=read(inp.treatments),
    cutoff=date.fromisoformat(cfg["data"]["data_cutoff"]),
    c=ResponseCriteria.from_config(cfg["response"]),
)
write_tsv(responses, out.responses)
stats, _ = clinical_statistics(
    patients=patients,
    responses=read(out.responses),
    labs=labs,
    adverse_events=read(inp.adverse_events),
    cfg=cfg,
)
frame = stats_to_frame(stats, rule=snakemake.rule,  # noqa: F821
                       script="workflow/scripts/sensitivity_variant.py",
                       inputs_sha256=inputs_digest(list(inp)))
write_ard(frame, out.ard)
write_tsv(evaluate(load_claims(inp.claims), read_ard(out.ard)), out.claims)
