"""Stack the per-variant audits into results/sensitivity/ (rule sensitivity_table)."""

import sys
from pathlib import Path

from aiha.ard import read_text_tsv, write_tsv
from aiha.sensitivity import sensitivity_summary, sensitivity_table

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821
audits = {
    Path(path).parent.name: read_text_tsv(path)
    for path in snakemake.input  # noqa: F821
}
table = sensitivity_table(audits, dict(snakemake.params.variants))  # noqa: F821
write_tsv(table, snakemake.output.table)  # noqa: F821
write_tsv(sensitivity_summary(table), snakemake.output.summary)  # noqa: F821
