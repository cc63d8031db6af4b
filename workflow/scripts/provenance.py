"""Write results/provenance.json (rule provenance)."""

import snakemake as smk

from aiha.ard import read_ard, read_text_tsv
from aiha.jobs import run_script
from aiha.provenance import (build_provenance, config_record, input_files_record,
                             key_fingerprint, write_json)
from aiha.pseudonym import read_key


def main(sm):
    raw = read_text_tsv(sm.input.raw_digests)
    files = {"site profiles": sm.input.site_profiles}
    gating = getattr(sm.input, "gating", None)
    if gating:
        files[sm.params.gating_role] = [gating] if isinstance(gating, str) else list(gating)
    claims = getattr(sm.input, "claims", None)
    if claims:
        files["claims"] = claims
    record = build_provenance(
        git=dict(sm.params.git),
        snakemake_version=smk.__version__,
        raw_inputs=dict(zip(raw["path"], raw["sha256"])),
        config=sm.params.cfg,
        ard=read_ard(sm.input.ard),
        config_in_force=config_record(dict(sm.params.config_sources), sm.input.config_in_force),
        input_files=input_files_record(files),
        key_fingerprint_hex=key_fingerprint(read_key(sm.input.key)),
    )
    write_json(record, sm.output.json)


run_script(main, snakemake)  # noqa: F821
