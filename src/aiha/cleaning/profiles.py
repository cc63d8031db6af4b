"""Site export profiles and the cleaning limits of the config."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aiha.errors import InputError
from aiha.therapies import PRIOR_THERAPY_TYPES

# Hard limits of values that are not lab values, used when a site's older config
# lacks them (config.yaml states the values in force).
DEFAULT_HARD = {"dose_mg": (0.0, 5000.0), "transfusion_units": (1.0, 20.0)}


@dataclass(frozen=True)
class SiteProfile:
    """How one site exports: delimiter, decimal mark, dates, codes, LDH ULN."""

    code: str
    name: str
    country: str
    delimiter: str
    decimal: str
    encoding: str
    date_format: str
    ldh_uln_u_l: float
    codes: dict[str, dict[str, Any]]


# Treatment categories (docs/data_dictionary.md): the study drug; a drug given as
# part of the daratumumab regimen (does not end the evaluable period); a new AIHA
# therapy (ends it); supportive care.
TREATMENT_CATEGORIES = ("daratumumab", "study_regimen", "aiha_therapy", "supportive")


# Code tables whose every canonical value must have a site code: a table that maps
# both of a site's sex codes to "male" would silently recode every female patient.
COVERED_KINDS = {
    "sex": ("male", "female"),
    "yes_no": (True, False),
    "diagnosis": ("wAIHA", "cAIHA"),
    "analyte": ("hb", "ldh", "bilirubin"),
}
SCHEMA = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "sites.schema.yaml"


class ProfileLoader(yaml.SafeLoader):
    """YAML 1.2 semantics where they matter for a code table: only ``true``/``false``
    (any case) are booleans, so ``YES``, ``NO``, ``ON``, ``OFF``, ``Y`` and ``N`` stay
    strings; a key given twice in one mapping is an error (merge keys ``<<`` may be
    overridden, that is what they are for)."""


ProfileLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ProfileLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))


def _construct_mapping(loader: ProfileLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "found an unhashable key (a list or mapping used as a key)",
                key_node.start_mark) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} given twice (lines {seen[key]} and {line})",
                key_node.start_mark)
        seen[key] = line
    loader.flatten_mapping(node)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


ProfileLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def read_profiles_yaml(path: str | Path) -> Any:
    """The YAML of a site profile file (:class:`ProfileLoader`); a YAML error, a
    duplicate key among them, names the file and line."""
    try:
        return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=ProfileLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        site = _site_at(path, mark.line) if mark is not None else None
        raise InputError(str(path), f"{'site ' + site + ': ' if site else ''}"
                         f"not a valid profile file{where}: {problem}") from None


def _site_at(path: str | Path, line: int) -> str | None:
    """The site whose entry holds 0-based ``line`` of the profile file (for messages)."""
    site = None
    in_sites = False
    for i, text in enumerate(Path(path).read_text(encoding="utf-8").splitlines()):
        if i > line:
            break
        if re.match(r"^sites:\s*$", text):
            in_sites = True
        elif in_sites and (m := re.match(r"^  ([A-Za-z0-9_]+):", text)):
            site = m.group(1)
        elif re.match(r"^\S", text):
            in_sites = False
            site = None
    return site


def _key_path(path: Any) -> tuple[str | None, str]:
    parts = [str(x) for x in path]
    if len(parts) >= 2 and parts[0] == "sites":
        return parts[1], ".".join(parts[2:])
    return None, ".".join(parts)


def check_profiles(raw: Any, path: str | Path) -> None:
    """Check the profile file's data against workflow/schemas/sites.schema.yaml and
    what a schema cannot state: every error names the file, the site and the key.

    - each site key is known; types and allowed values per key (the schema);
    - the encoding is one Python knows; the date format reads back what it writes;
    - each code table maps to its declared vocabulary only (``codes.yes_no`` to
      booleans: a quoted ``"false"`` is a string and refused), covers it
      (:data:`COVERED_KINDS`), and no two codes that read the same (trimmed, any
      case) map to different values.
    """
    import codecs
    from datetime import datetime

    import jsonschema

    schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    schema["$defs"]["site"]["properties"]["codes"]["properties"]["prior_therapy"][
        "additionalProperties"] = {"enum": sorted(PRIOR_THERAPY_TYPES)}
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(raw),
                    key=lambda e: [str(x) for x in e.absolute_path])
    if errors:
        err = errors[0]
        site, key = _key_path(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = set(err.schema.get("properties", {}))
            extra = sorted(str(k) for k in err.instance if k not in allowed)
            key = ".".join([p for p in (key, extra[0] if extra else "") if p])
            what = f"unknown key; allowed: {', '.join(sorted(allowed))}"
        elif err.validator == "required":
            m = re.match(r"'(.+)' is a required property", err.message)
            key = ".".join(p for p in (key, m.group(1) if m else "") if p)
            what = "missing"
        elif err.validator == "enum":
            what = f"value {err.instance!r} is not one of {', '.join(map(str, err.validator_value))}"
        elif err.validator == "type":
            what = f"value {err.instance!r} must be of type {err.validator_value}"
        else:
            what = f"value {err.instance!r}: {err.message}"
        raise InputError(str(path), f"{'site ' + site + ', ' if site else ''}"
                         f"key {key or '(top level)'}: {what}")
    for code, p in raw["sites"].items():
        def fail(key: str, what: str) -> None:
            raise InputError(str(path), f"site {code}, key {key}: {what}")

        try:
            codecs.lookup(p["encoding"])
        except LookupError:
            fail("encoding", f"unknown encoding {p['encoding']!r}")
        probe = datetime(2001, 11, 23)
        try:
            back = datetime.strptime(probe.strftime(p["date_format"]), p["date_format"])
        except (ValueError, re.error):  # re.error: a directive given twice (%d ... %d)
            back = None
        if back is None or back.date() != probe.date():
            fail("date_format", f"{p['date_format']!r} does not read back a day, month "
                 "and year (e.g. %d-%m-%Y)")
        if p["delimiter"] == p["decimal"]:
            fail("delimiter", f"the delimiter {p['delimiter']!r} is also the decimal mark")
        for kind, table in p["codes"].items():
            seen: dict[str, tuple[str, Any]] = {}
            for k, v in table.items():
                norm = str(k).strip().upper()
                if norm in seen and seen[norm][1] != v:
                    fail(f"codes.{kind}", f"codes {seen[norm][0]!r} and {str(k)!r} read the "
                         f"same and map to {seen[norm][1]!r} and {v!r}")
                seen[norm] = (str(k), v)
            missing = [v for v in COVERED_KINDS.get(kind, ()) if v not in set(table.values())]
            if missing:
                fail(f"codes.{kind}", f"no site code maps to {', '.join(map(str, missing))}"
                     " (each value of the vocabulary needs one)")


def load_site_profiles(path: str | Path) -> dict[str, SiteProfile]:
    """Read and check resources/sites.yaml (:func:`read_profiles_yaml`,
    :func:`check_profiles`)."""
    raw = read_profiles_yaml(path)
    check_profiles(raw, path)
    return {
        code: SiteProfile(
            code=code,
            name=p["name"],
            country=p["country"],
            delimiter=p["delimiter"],
            decimal=p["decimal"],
            encoding=p["encoding"],
            date_format=p["date_format"],
            ldh_uln_u_l=float(p["ldh_uln_u_l"]),
            codes={kind: {str(k).strip().upper(): v for k, v in m.items()}
                   for kind, m in p["codes"].items()},
        )
        for code, p in raw["sites"].items()
    }


@dataclass(frozen=True)
class CleaningLimits:
    """``cleaning`` of the config: hard limits stop the run, suspicious ones flag."""

    hard: dict[str, tuple[float, float]]
    suspicious: dict[str, tuple[float, float]]
    age_years: tuple[float, float]

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> "CleaningLimits":
        hard = {**DEFAULT_HARD,
                **{k: (float(v[0]), float(v[1])) for k, v in cfg["hard_limits"].items()}}
        return cls(
            hard=hard,
            suspicious={k: (float(v[0]), float(v[1])) for k, v in cfg["suspicious_limits"].items()},
            age_years=(float(cfg["age_years"][0]), float(cfg["age_years"][1])),
        )
