"""Provenance of what ran (unit level): the config in force and where it came from,
the digests of the study's other inputs and the pseudonym key's fingerprint.
Expected digests are computed here with hashlib/hmac from the bytes the test writes."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pandas as pd
import yaml

from aiha import provenance as P
from aiha.report.appendix_tables import provenance_tables

KEY = b"a-site-secret-key-of-32-bytes!!!"


def test_key_fingerprint_identifies_the_key_without_revealing_it():
    got = P.key_fingerprint(KEY)
    assert got == hmac.new(KEY, b"aiha pseudonym key fingerprint v1", hashlib.sha256).hexdigest()
    assert got != hashlib.sha256(KEY).hexdigest()  # not the plain digest of the key
    assert KEY.hex() not in got and P.key_fingerprint(KEY + b"x") != got
    # no pseudonym either: a pseudonym is the HMAC of "SITE|record"
    assert got != hmac.new(KEY, b"AMS|123", hashlib.sha256).hexdigest()


def test_canonical_yaml_is_the_same_for_the_same_config_in_any_order():
    a = {"b": {"y": 1, "x": [1, 2]}, "a": "text"}
    b = {"a": "text", "b": {"x": [1, 2], "y": 1}}
    assert P.canonical_yaml(a) == P.canonical_yaml(b)
    assert P.canonical_yaml(a).splitlines()[0] == "a: text"
    assert yaml.safe_load(P.canonical_yaml(a)) == a
    assert P.canonical_yaml({"a": 1}) != P.canonical_yaml({"a": 2})


def test_config_sources_in_merge_order_relative_to_the_workdir(tmp_path: Path):
    (tmp_path / "config.yaml").write_text("a: 1\n")
    own = tmp_path / "studies" / "mine.yaml"
    own.parent.mkdir()
    own.write_text("a: 2\n")
    outside = tmp_path.parent / "elsewhere.yaml"
    # Snakemake: workflow.configfiles lists the command line's files, then config.yaml
    got = P.config_sources([str(own), str(outside), "config.yaml"], [own, outside],
                           {"report": {"title": "T"}}, tmp_path)
    assert got == {"files": ["config.yaml", "studies/mine.yaml", str(outside)],
                   "overrides": {"report": {"title": "T"}}}
    assert P.config_sources(["config.yaml"], [], {}, tmp_path) == {"files": ["config.yaml"],
                                                                   "overrides": {}}


def test_config_record_digests_each_file_and_the_merged_config(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("config.yaml").write_text("a: 1\n")
    Path("mine.yaml").write_text("a: 2\n")
    Path("in_force.yaml").write_text(P.canonical_yaml({"a": 2, "b": 3}))
    rec = P.config_record({"files": ["config.yaml", "mine.yaml"], "overrides": {"b": 3}},
                          "in_force.yaml")
    assert rec["files"] == [
        {"path": "config.yaml", "sha256": hashlib.sha256(b"a: 1\n").hexdigest()},
        {"path": "mine.yaml", "sha256": hashlib.sha256(b"a: 2\n").hexdigest()}]
    assert rec["overrides"] == {"b": 3}
    assert rec["in_force"]["sha256"] == hashlib.sha256(b"a: 2\nb: 3\n").hexdigest()


def test_input_files_record_and_appendix_b(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, body in (("ph.wsp", b"<ws/>"), ("fn.wsp", b"<ws2/>"), ("claims.yaml", b"c"),
                       ("sites.yaml", b"s"), ("config.yaml", b"a: 1\n"), ("own.yaml", b"a: 2\n")):
        Path(name).write_bytes(body)
    Path("cif.yaml").write_text(P.canonical_yaml({"a": 2}))
    files = P.input_files_record({"FlowJo workspace": ["ph.wsp", "fn.wsp"], "claims": "claims.yaml",
                                  "site profiles": "sites.yaml"})
    assert files == [
        {"role": "FlowJo workspace", "path": "fn.wsp", "sha256": hashlib.sha256(b"<ws2/>").hexdigest()},
        {"role": "FlowJo workspace", "path": "ph.wsp", "sha256": hashlib.sha256(b"<ws/>").hexdigest()},
        {"role": "claims", "path": "claims.yaml", "sha256": hashlib.sha256(b"c").hexdigest()},
        {"role": "site profiles", "path": "sites.yaml", "sha256": hashlib.sha256(b"s").hexdigest()}]
    ard = pd.DataFrame({"stat_id": ["n"], "rule": ["r"], "script": ["s.py"]})
    record = P.build_provenance({"commit": "abc", "dirty": False}, "9", {}, {"data": {"data_cutoff": "2023-06-30"}},
                                ard, P.config_record({"files": ["config.yaml", "own.yaml"],
                                                      "overrides": {"x": 1}}, "cif.yaml"),
                                files, P.key_fingerprint(KEY))
    assert record["config"]["in_force"]["sha256"] == hashlib.sha256(b"a: 2\n").hexdigest()
    assert record["pseudonym_key"]["fingerprint"] == P.key_fingerprint(KEY)
    tables = provenance_tables(record)
    build = {row[0]: row[1] for row in tables["build"].rows}
    assert build["Config file 1 merged"] == f"config.yaml (SHA-256 {hashlib.sha256(b'a: 1' + bytes([10])).hexdigest()})"
    assert build["Config file 2 merged"].startswith("own.yaml (SHA-256 ")
    assert build["Config override (--config)"] == "x=1"
    assert build["Config in force (merged)"] == \
        f"cif.yaml (SHA-256 {hashlib.sha256(b'a: 2' + bytes([10])).hexdigest()})"
    study = tables["study_files"].rows
    assert [r[0] for r in study] == ["FlowJo workspace", "FlowJo workspace", "claims", "site profiles",
                                     "pseudonym key (fingerprint)"]
    assert study[-1][2] == P.key_fingerprint(KEY) and KEY.decode() not in str(study)
