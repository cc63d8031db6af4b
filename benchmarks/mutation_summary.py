"""Killed/total per module from mutmut's results (run after `mutmut run`).

Prints a Markdown table: module, killed (incl. timeouts), survived, no tests,
not checked, score = killed / (killed + survived + no tests). Survivors are listed
by name (`mutmut show <name>` prints the diff).
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

BIN = Path(sys.executable).parent


def results() -> list[tuple[str, str]]:
    out = subprocess.run([str(BIN / "mutmut"), "results", "--all", "true"], capture_output=True,
                         text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        if ":" in line and "__mutmut_" in line:
            name, status = line.strip().rsplit(":", 1)
            rows.append((name.strip(), status.strip()))
    return rows


def module_of(name: str) -> str:
    parts = name.split(".")
    # aiha.<module>[.<sub>].x_<function>__mutmut_N
    return ".".join(p for p in parts if not p.startswith(("x_", "xǁ")))


def main() -> int:
    rows = results()
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    for name, status in rows:
        mod = module_of(name)
        by_module[mod][status] += 1
        if status == "survived":
            survivors[mod].append(name)
    print("| module | killed | survived | no tests | not checked | score |")
    print("|---|---:|---:|---:|---:|---:|")
    for mod in sorted(by_module):
        c = by_module[mod]
        killed = c["killed"] + c["timeout"]
        tested = killed + c["survived"] + c["no tests"]
        score = f"{100 * killed / tested:.1f}%" if tested else "n/a"
        print(f"| {mod} | {killed} | {c['survived']} | {c['no tests']} | {c['not checked']} | {score} |")
    for mod in sorted(survivors):
        print(f"\nSurvivors in {mod}:")
        for name in survivors[mod]:
            print(f"- {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
