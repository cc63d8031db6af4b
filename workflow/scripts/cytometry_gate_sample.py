"""Gate one FCS file: population counts and QC."""

import sys

import pandas as pd

from aiha.ard import write_tsv
from aiha.cytometry.gating import gate_file, load_gatingml, qc_row
from aiha.errors import InputError

sm = snakemake  # noqa: F821
with open(sm.log[0], "w") as log:
    sys.stderr = log
    try:
        cfg = sm.params.cyto
        sample_id = sm.wildcards.sample_id
        if cfg["gating_source"] == "flowjo":
            populations, sample = gate_file(sm.input.fcs, sample_id, flowjo_workspace=sm.input.gating)
        else:
            strategy = load_gatingml(sm.input.gating, cfg["transform"], cfg["asinh"], cfg["gate_in_linear_units"])
            populations, sample = gate_file(sm.input.fcs, sample_id, strategy)
        qc = cfg["qc"]
        row = qc_row(populations, sample_id, sample.event_count, qc["kept_population"],
                     int(qc["min_events_kept"]), float(qc["min_percent_kept"]))
        write_tsv(populations, sm.output.populations)
        write_tsv(pd.DataFrame([row]), sm.output.qc)
        print(f"{sample_id}: {sample.event_count} events, {row['events_kept']} kept", file=log)
    except InputError as err:  # bad input: one clear message, on the terminal and in the log
        print(f"ERROR: {err}", file=log)
        print(f"ERROR: {err}", file=sys.__stderr__)
        sys.exit(1)
