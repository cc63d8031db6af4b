"""Config validation: shape (JSON schemas in ``workflow/schemas/``) and meaning.

Every problem is one line naming the config key (and the sensitivity variant,
if any). Beyond the schemas' shape, the meaning is checked:

- ``format: date`` values are real calendar dates (``2023-02-30`` is refused);
- a ``[low, high]`` pair marked ``increasing: true`` in a schema has low < high;
- every sensitivity variant, merged over the config, passes the same checks.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
from pathlib import Path
from typing import Any, Iterator, Mapping

import jsonschema
import yaml

from aiha.errors import ConfigError

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available

# Schema of each part of the config: (path of the section or "" for the whole, file).
SCHEMAS = (("", "config.schema.yaml"), ("cytometry", "cytometry.schema.yaml"),
           ("report", "report.schema.yaml"))


def _increasing(validator: Any, flag: bool, instance: Any, schema: Mapping[str, Any]) -> Iterator[Any]:
    if (flag and isinstance(instance, list) and len(instance) == 2
            and all(isinstance(v, (int, float)) for v in instance) and not instance[0] < instance[1]):
        yield jsonschema.ValidationError(
            f"{instance} is not a range: the lower limit must be below the upper limit")


def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


@functools.lru_cache(maxsize=None)
def _schema(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=SafeLoader)


@functools.lru_cache(maxsize=None)
def _validator(path: Path, section: str = "") -> Any:
    """A validator of one schema file, or of one top-level section of it (read and
    built once per process: the config and every sensitivity variant are checked
    against the same schemas)."""
    schema = _schema(path)
    if section:
        schema = {k: v for k, v in schema.items() if k in ("$schema", "definitions", "$defs")} \
            | schema["properties"][section]
    base = jsonschema.validators.validator_for(schema)
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("date")(_is_date)
    cls = jsonschema.validators.extend(base, {"increasing": _increasing})
    return cls(schema, format_checker=checker)


def _errors(config: Mapping[str, Any], schema_dir: Path,
            only: set[str] | None = None) -> list[str]:
    """Problems of the config; ``only``: check just these top-level sections (a
    sensitivity variant changes values within the sections it overrides)."""
    out = []
    for section, name in SCHEMAS:
        part = config.get(section) if section else config
        if section and part is None:
            continue
        if only is not None and section and section not in only:
            continue
        if only is not None and not section:
            path = (schema_dir / name).resolve()
            for key in sorted(only & set(_schema(path).get("properties", {}))):
                if any(key == s for s, _ in SCHEMAS):
                    continue  # checked with its own schema below
                error = jsonschema.exceptions.best_match(
                    _validator(path, key).iter_errors(config.get(key)))
                if error is not None:
                    where = ".".join(str(p) for p in [key, *error.absolute_path])
                    out.append(f"{where}: {error.message}")
            continue
        validator = _validator((schema_dir / name).resolve())
        error = jsonschema.exceptions.best_match(validator.iter_errors(part))
        if error is not None:
            path = [section] if section else []
            where = ".".join(str(p) for p in [*path, *error.absolute_path]) or "(top level)"
            out.append(f"{where}: {error.message}")
    return out


def merge_overrides(config: Mapping[str, Any], overrides: Mapping[str, Any] | None,
                    variant: str = "") -> dict[str, Any]:
    """A deep copy of ``config`` with a variant's ``overrides``; an override of a key
    the config does not have is a ConfigError naming the variant and the key."""
    out = copy.deepcopy(dict(config))

    def merge(target: dict[str, Any], patch: Mapping[str, Any], where: str) -> None:
        for key, value in patch.items():
            if not isinstance(target, dict) or key not in target:
                raise ConfigError(f"config.yaml: sensitivity.variants.{variant}: {where}{key} "
                                  "is not a config key")
            if isinstance(value, dict) and isinstance(target[key], dict):
                merge(target[key], value, f"{where}{key}.")
            else:
                target[key] = copy.deepcopy(value)

    merge(out, overrides or {}, "")
    return out


def check_config(config: Mapping[str, Any], schema_dir: str | Path) -> None:
    """Raise ConfigError (one line per problem, the first ones) if the config or any
    sensitivity variant merged over it is invalid."""
    schema_dir = Path(schema_dir)
    problems = [f"config.yaml: {e}" for e in _errors(config, schema_dir)]
    if not problems:
        variants = (config.get("sensitivity") or {}).get("variants") or {}
        for name, overrides in variants.items():
            merged = merge_overrides(config, overrides, name)
            problems += [f"config.yaml: sensitivity.variants.{name} gives {e}"
                         for e in _errors(merged, schema_dir, set(overrides or {}))]
    if problems:
        raise ConfigError("\n".join(problems[:5]))


def fill_defaults(config: dict[str, Any], schema_dir: str | Path) -> None:
    """Set, in place, every key a schema gives a ``default`` and the config leaves
    out (a site's older config), section by section."""
    schema_dir = Path(schema_dir)

    def fill(instance: Any, schema: Mapping[str, Any]) -> None:
        if not isinstance(instance, dict):
            return
        for key, sub in (schema.get("properties") or {}).items():
            if not isinstance(sub, dict):
                continue
            if key not in instance and "default" in sub:
                instance[key] = copy.deepcopy(sub["default"])
            if key in instance:
                fill(instance[key], sub)

    for section, name in SCHEMAS:
        schema = _schema((schema_dir / name).resolve())
        if not section:
            fill(config, schema)
        elif isinstance(config.get(section), dict):
            fill(config[section], schema)
