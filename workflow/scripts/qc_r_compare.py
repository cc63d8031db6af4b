"""Compare the ARD with the R double programming row by row (rule qc_r_compare).

Writes the comparison and its summary (coverage, disagreements); on any
disagreement or unmatched row the job fails with one message naming the rows."""

import sys

from aiha.ard import write_tsv
from aiha.jobs import run_script
from aiha.qc_compare import compare_files, failure_message, summary_frame


FAILED = []


def main(sm):
    table, counts = compare_files(sm.input.ard, sm.input.r, sm.params.cfg["qc_tolerance"])
    session = open(sm.input.session, encoding="utf-8").read().strip()
    frame = summary_frame({**counts, "r_session": session})
    write_tsv(table, sm.output.table)
    write_tsv(frame, sm.output.summary)
    message = failure_message(table)
    if message:
        print(table[table["status"] != "agree"].to_string(index=False), file=sys.stderr)
        print(f"ERROR: {message}", file=sys.stderr, flush=True)
        FAILED.append(message)
        return
    print(f"{counts['compared']} of {counts['ard_rows']} ARD rows compared with R "
          f"({session}): {counts['disagree']} disagreements", file=sys.stderr)


run_script(main, snakemake)  # noqa: F821
if FAILED:  # one line on the terminal (the failing rows are in the log); the job fails
    print(f"ERROR: {FAILED[0]}", file=sys.stderr, flush=True)
    sys.exit(1)
