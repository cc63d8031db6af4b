"""Compare every published claim with the results table (rule audit_claims)."""

import sys

from aiha.ard import read_ard, write_tsv
from aiha.audit import evaluate, format_table, load_claims

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821
table = evaluate(load_claims(snakemake.input.claims), read_ard(snakemake.input.ard))  # noqa: F821
write_tsv(table, snakemake.output.claims)  # noqa: F821
print(format_table(table), file=sys.stderr)
