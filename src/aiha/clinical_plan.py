"""What workflow/rules/clinical.smk needs at parse time (no functions in .smk files).

Kept outside the aiha.cleaning package: importing that package imports pandera,
which every Snakemake start (the no-op rerun included) would pay for."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from aiha.pseudonym import check_not_demo_key, is_demo_key, read_key


def clinical_params(config: dict[str, Any], sites: list[str]) -> dict[str, Any]:
    """Config values the cleaning uses (rule params: a change reruns the cleaning)."""
    return dict(
        sites=sites,
        data_cutoff=config["data"]["data_cutoff"],
        export_date=config["data"].get("export_date"),
        generate_demo=config["data"]["generate_demo"],
        cleaning=config["cleaning"],
    )


def demo_key_check(config: dict[str, Any], raw_dir: str | Path, sites: Callable[[], list[str]]) -> None:
    """The committed demo key is refused for real data before any job runs (a job
    that ran with it, cytometry gating included, would write reversible pseudonyms).
    It still serves a copy of the demo export (only demo patients)."""
    data = config["data"]
    if data["generate_demo"] or not is_demo_key(read_key(data["pseudonym_key_file"])):
        return
    from aiha.cleaning.profiles import load_site_profiles
    from aiha.cleaning.study import export_records
    from aiha.demo.cohort import load_spec

    spec = load_spec(data["demo_spec"], data["demo_multiplier"])
    demo = {(p.site, p.record_number) for p in spec.patients}
    found = export_records(Path(raw_dir), sites(), load_site_profiles(data["site_profiles"]))
    check_not_demo_key(data["pseudonym_key_file"], False, found, demo)
