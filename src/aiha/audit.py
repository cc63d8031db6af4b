"""Published versus reproduced: each claim of resources/published_claims.yaml is
printed by its rounding rule from the study's results in the CDISC ARS model
(``results/ars/reporting_event.json``: the ``rawValue`` of each statistic's
OperationResult, read by :func:`aiha.ars.read_results`) and compared, as printed,
with the published value. A claim whose statistics are missing fails.

A check whose statistic ends in ``*`` (``ongoing_duration/wAIHA/value_*``) is a
list: every statistic of that stem (``value_1``, ``value_2``, ...) in order, printed
as "6 and 12", "2, 6 and 12" or "none"."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from aiha.ard import read_text_tsv
from aiha.ars import read_results
from aiha.errors import InputError

AUDIT_COLUMNS = ["id", "published", "reproduced", "status", "source", "definition", "statistics"]
RULES = ("integer", "percent", "decimal", "yes_no", "positive", "patients", "events")


@dataclass(frozen=True)
class Check:
    stat_id: str
    group: str
    statistic: str
    rule: str

    @property
    def key(self) -> str:
        return f"{self.stat_id}/{self.group}/{self.statistic}"

    @property
    def is_list(self) -> bool:
        return self.statistic.endswith("*")


@dataclass(frozen=True)
class Claim:
    id: str
    sentence: str
    source: str
    published: str
    template: str
    checks: tuple[Check, ...]
    definition: str


def _half_up(value: float, places: int) -> Decimal:
    quant = Decimal(1).scaleb(-places)
    return Decimal(repr(value)).quantize(quant, rounding=ROUND_HALF_UP)


def render(value: float, rule: str) -> str:
    """A computed value printed by a claim's rounding rule."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NA"
    if rule == "integer":
        return str(int(_half_up(value, 0)))
    if rule == "percent":
        return str(int(_half_up(100 * value, 0)))
    if rule == "decimal":
        text = str(_half_up(value, 1))
        return text[:-2] if text.endswith(".0") else text
    if rule == "yes_no":
        return "yes" if value == 1 else "no"
    if rule == "positive":
        return "yes" if value > 0 else "no"
    if rule in ("patients", "events"):
        n = int(_half_up(value, 0))
        return f"{n} {rule[:-1] if n == 1 else rule}"
    raise ValueError(f"unknown rounding rule {rule!r}")


def load_claims(path: str | Path) -> list[Claim]:
    """Read and validate the claims file; InputError names the claim and field."""
    name = str(path)
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise InputError(name, f"not valid YAML: {err}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("claims"), list):
        raise InputError(name, "expected a mapping with a 'claims' list")
    claims, seen = [], set()
    for i, c in enumerate(raw["claims"], start=1):
        if not isinstance(c, dict):
            raise InputError(name, "claim is not a mapping", row=i)
        for fld in ("id", "sentence", "source", "published", "template", "checks", "definition"):
            if fld not in c:
                raise InputError(name, f"claim {c.get('id', '?')!r} lacks {fld!r}", row=i, column=fld)
        if c["id"] in seen:
            raise InputError(name, "claim id repeated", row=i, column="id", value=c["id"])
        seen.add(c["id"])
        checks = []
        for chk in c["checks"]:
            parts = str(chk.get("stat", "")).split("/")
            if len(parts) != 3 or chk.get("rule") not in RULES:
                raise InputError(name, f"claim {c['id']!r}: check needs stat 'id/group/statistic' "
                                 f"and a rule in {RULES}", row=i, column="checks", value=chk)
            checks.append(Check(*parts, rule=chk["rule"]))
        claims.append(Claim(str(c["id"]), str(c["sentence"]), str(c["source"]),
                            str(c["published"]), str(c["template"]), tuple(checks),
                            str(c["definition"])))
    return claims


def parse_statistics(text: str) -> list[tuple[str, str, str]]:
    """The ``statistics`` column of results/audit/claims.tsv back into (stat_id, group,
    statistic) keys (the inverse of the ``"; ".join(check.key ...)`` written there)."""
    keys = []
    for ref in str(text or "").split(";"):
        parts = ref.strip().split("/")
        if len(parts) == 3:
            keys.append((parts[0], parts[1], parts[2]))
    return keys


def join_list(items: list[str]) -> str:
    """English list: "none", "6", "6 and 12", "2, 6 and 12"."""
    if not items:
        return "none"
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _list_values(index: dict[tuple[str, str, str], float], check: Check) -> list[float]:
    stem = check.statistic[:-1]
    found = [(k[2][len(stem):], v) for k, v in index.items()
             if k[0] == check.stat_id and k[1] == check.group and k[2].startswith(stem)]
    return [v for _, v in sorted(found, key=lambda kv: int(kv[0]) if kv[0].isdigit() else 10**9)]


def evaluate(claims: list[Claim], ard: pd.DataFrame,
             not_computed: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per claim: published, reproduced (printed), status pass/fail/missing.

    ``ard``: rows keyed stat_id, group, statistic with a float ``value``: the ARS
    results (:func:`aiha.ars.read_results`, as the rule ``audit_claims`` reads them)
    or an ARD table (a sensitivity variant's).

    ``not_computed``: stat_id prefix -> reason (``{"flow_": "no cytometry data"}``):
    a claim with a missing statistic of that prefix reads "not computed: <reason>".
    """
    index = {(r.stat_id, r.group, r.statistic): r.value for r in ard.itertuples()}
    rows: list[dict[str, Any]] = []
    for claim in claims:
        missing = [c for c in claim.checks
                   if not c.is_list and (c.stat_id, c.group, c.statistic) not in index]
        undefined = [c for c in claim.checks if not c.is_list and c not in missing
                     and math.isnan(float(index[(c.stat_id, c.group, c.statistic)]))]
        if missing or undefined:
            reasons = sorted({why for c in missing for pre, why in (not_computed or {}).items()
                              if c.stat_id.startswith(pre)})
            empty = sorted({c.group for c in missing + undefined
                            if index.get(("n_treated", c.group, "n")) == 0})
            reasons += [f"no patients in {g}" for g in empty]
            keys = ", ".join(c.key for c in missing + undefined)
            reproduced = f"not computed: {'; '.join(reasons) if reasons else keys}"
            status = "missing"
        else:
            printed = [join_list([render(v, c.rule) for v in _list_values(index, c)])
                       if c.is_list else render(index[(c.stat_id, c.group, c.statistic)], c.rule)
                       for c in claim.checks]
            reproduced = claim.template.format(*printed)
            status = "pass" if reproduced == claim.published else "fail"
        rows.append({
            "id": claim.id, "published": claim.published, "reproduced": reproduced,
            "status": status, "source": claim.source, "definition": claim.definition,
            "statistics": "; ".join(c.key for c in claim.checks),
        })
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS)


def evaluate_reporting_event(claims: list[Claim], path: str | Path,
                             not_computed: dict[str, str] | None = None) -> pd.DataFrame:
    """:func:`evaluate` with the values of the ARS reporting event at ``path``
    (``results/ars/reporting_event.json``): each statistic's ``rawValue``."""
    return evaluate(claims, read_results(path), not_computed)


def all_pass(table: pd.DataFrame) -> bool:
    """True only when every claim passed (a missing claim is a failure)."""
    return bool(len(table)) and bool((table["status"] == "pass").all())


def format_table(table: pd.DataFrame) -> str:
    """The audit as plain text for the terminal."""
    cols = ["id", "published", "reproduced", "status"]
    widths = {c: max(len(c), *(len(str(v)) for v in table[c])) for c in cols}
    line = "  ".join(c.ljust(widths[c]) for c in cols)
    out = [line, "  ".join("-" * widths[c] for c in cols)]
    for _, r in table.iterrows():
        out.append("  ".join(str(r[c]).ljust(widths[c]) for c in cols))
    n_pass = int((table["status"] == "pass").sum())
    out.append(f"{n_pass} of {len(table)} claims reproduced")
    return "\n".join(out)


def claims_file(config_path: str | Path) -> str | None:
    """The claims file a config names (``audit.claims``), or None for no audit."""
    cfg = yaml.safe_load(Path(config_path).read_text(encoding="utf-8")) or {}
    claims = (cfg.get("audit") or {}).get("claims")
    return str(claims) if claims else None


def main(argv: list[str] | None = None) -> int:
    """`python -m aiha.audit results/audit/claims.tsv`: print; exit 1 unless all pass.
    `python -m aiha.audit --has-claims config.yaml`: exit 0 if the config names a
    claims file, else say there is no audit and exit 3 (for `make audit`)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "--has-claims":
        if claims_file(args[1]):
            return 0
        print(f"No claims file in {args[1]} (audit.claims): this study has no audit.")
        return 3
    table = read_text_tsv(args[0])
    print(format_table(table))
    return 0 if all_pass(table) else 1


if __name__ == "__main__":
    raise SystemExit(main())
