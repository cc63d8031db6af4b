"""Compare every published claim with the results table (rules audit_claims, sensitivity)."""

import sys

from aiha.ard import read_ard, write_tsv
from aiha.audit import evaluate, format_table, load_claims
from aiha.errors import InputError

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821
try:
    claims = load_claims(snakemake.input.claims)  # noqa: F821
except InputError as err:
    print(f"ERROR: {err}", file=sys.stderr)
    print(f"ERROR: {err}", file=sys.__stderr__)
    sys.exit(1)
table = evaluate(claims, read_ard(snakemake.input.ard))  # noqa: F821
write_tsv(table, snakemake.output.claims)  # noqa: F821
print(format_table(table), file=sys.stderr)
