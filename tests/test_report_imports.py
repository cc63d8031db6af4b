"""The report only formats: no report module imports a statistics function.

Report code is every module of ``src/aiha/report/`` and every script the report
stage runs (the ``script:`` of each rule in workflow/rules/report.smk, and each
``workflow/scripts/report_*.py`` that no other stage's rule runs). Imports are read
with ``ast`` (at any depth: inside functions too; relative imports resolved;
``from X import y`` also counts as importing the submodule ``X.y``) and followed
through the ``aiha`` package, package ``__init__`` files included: a report module
that imports an ``aiha`` module that imports lifelines imports lifelines.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conftest import ROOT

# Statistics libraries and the modules of the analysis stages.
FORBIDDEN = ("lifelines", "statsmodels", "scipy.stats", "sklearn", "pingouin",
             "aiha.statistics", "aiha.clinical_content", "aiha.qc", "aiha.sensitivity",
             "aiha.response", "aiha.cytometry.claims")


def is_forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN)


def imported_modules(path: Path, dotted: str) -> set[str]:
    """Every module ``path`` (module ``dotted``) imports, by its absolute name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = dotted if path.name == "__init__.py" else dotted.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[:len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return {m for m in found if m}


def module_file(src: Path, dotted: str) -> Path | None:
    base = src.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def forbidden_imports(path: Path, src: Path, dotted: str = "__script__") -> list[str]:
    """Each forbidden module ``path`` reaches, as the chain of imports that reaches it
    (``a -> aiha.x -> lifelines``)."""
    out: list[str] = []
    seen: set[str] = set()
    start = path.name if dotted == "__script__" else dotted
    todo: list[tuple[Path, str, str]] = [(path, dotted, start)]
    while todo:
        file, name, chain = todo.pop()
        for module in sorted(imported_modules(file, name)):
            if is_forbidden(module):
                out.append(f"{chain} -> {module}")
                continue
            if not (module == "aiha" or module.startswith("aiha.")):
                continue
            parts = module.split(".")
            for i in range(1, len(parts) + 1):  # every package __init__ on the way
                sub = ".".join(parts[:i])
                target = module_file(src, sub)
                if target is None or sub in seen:
                    continue
                seen.add(sub)
                todo.append((target, sub, f"{chain} -> {sub}"))
    return sorted(set(out))


def _rule_scripts(rules_file: Path) -> set[str]:
    text = rules_file.read_text(encoding="utf-8")
    return {str((rules_file.parent / m).resolve().relative_to(rules_file.parents[2]))
            for m in re.findall(r'script:\s*\n\s*"([^"]+)"', text)}


def report_code(root: Path) -> dict[str, tuple[Path, str]]:
    """Report code of the project at ``root``: relative path -> (file, module name)."""
    src = root / "src"
    rules = root / "workflow" / "rules"
    report_rules = _rule_scripts(rules / "report.smk")
    other_rules = set().union(*(_rule_scripts(f) for f in rules.glob("*.smk")
                                if f.name != "report.smk"))
    scripts = report_rules | {str(p.relative_to(root))
                              for p in (root / "workflow" / "scripts").glob("report_*.py")
                              if str(p.relative_to(root)) not in other_rules}
    code = {s: (root / s, "__script__") for s in sorted(scripts)}
    for path in sorted((src / "aiha" / "report").rglob("*.py")):
        rel = path.relative_to(src).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        code[str(path.relative_to(root))] = (path, ".".join(parts))
    return code


def violations(root: Path) -> dict[str, list[str]]:
    out = {}
    for rel, (path, dotted) in report_code(root).items():
        found = forbidden_imports(path, root / "src", dotted)
        if found:
            out[rel] = found
    return out


def test_report_code_is_found():
    code = report_code(ROOT)
    assert "src/aiha/report/model.py" in code and "src/aiha/report/clinical_tables.py" in code
    assert "workflow/scripts/report_render.py" in code
    assert "workflow/scripts/report_listings.py" in code


def test_report_modules_import_no_statistics_function():
    assert violations(ROOT) == {}


def _mini_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "src" / "aiha" / "report").mkdir(parents=True)
    (root / "workflow" / "rules").mkdir(parents=True)
    (root / "workflow" / "scripts").mkdir(parents=True)
    (root / "src" / "aiha" / "__init__.py").write_text("")
    (root / "src" / "aiha" / "report" / "__init__.py").write_text(
        "from aiha.report.tables import table\n")
    (root / "src" / "aiha" / "report" / "tables.py").write_text(
        "from aiha import formatting as F\n\n\ndef table():\n    return F\n")
    (root / "src" / "aiha" / "formatting.py").write_text("import math\n")
    (root / "workflow" / "rules" / "report.smk").write_text(
        'rule render_report:\n    script:\n        "../scripts/report_render.py"\n')
    (root / "workflow" / "rules" / "statistics.smk").write_text(
        'rule stats:\n    script:\n        "../scripts/report_numbers.py"\n')
    (root / "workflow" / "scripts" / "report_render.py").write_text(
        "from aiha.report import table\n")
    # Named like a report script, but run by the statistics stage: not report code.
    (root / "workflow" / "scripts" / "report_numbers.py").write_text("import lifelines\n")
    return root


def test_a_clean_mini_project_passes(tmp_path: Path):
    root = _mini_project(tmp_path)
    assert "workflow/scripts/report_numbers.py" not in report_code(root)
    assert violations(root) == {}


@pytest.mark.parametrize("planted,where", [
    ("from aiha.statistics import clopper_pearson\n", "src/aiha/report/tables.py"),
    ("from scipy import stats\n", "src/aiha/report/tables.py"),
    ("def f():\n    import lifelines\n    return lifelines\n", "src/aiha/report/tables.py"),
    ("from ..statistics import median\n", "src/aiha/report/tables.py"),
    ("import statsmodels.api as sm\n", "workflow/scripts/report_render.py"),
    ("from aiha import qc\n", "workflow/scripts/report_render.py"),
])
def test_a_planted_statistics_import_fails(tmp_path: Path, planted: str, where: str):
    root = _mini_project(tmp_path)
    path = root / where
    path.write_text(path.read_text() + planted)
    found = violations(root)
    assert list(found) == [where] or where in found, found


def test_an_indirect_statistics_import_fails(tmp_path: Path):
    """report -> aiha.formatting -> aiha.statistics: the report imports statistics."""
    root = _mini_project(tmp_path)
    (root / "src" / "aiha" / "formatting.py").write_text("from aiha.statistics import km\n")
    (root / "src" / "aiha" / "statistics.py").write_text("import lifelines\n")
    found = violations(root)
    assert "src/aiha/report/tables.py" in found
    assert any(chain.endswith("aiha.formatting -> aiha.statistics")
               for chain in found["src/aiha/report/tables.py"])


def test_a_report_rule_that_computes_is_a_violation(tmp_path: Path):
    root = _mini_project(tmp_path)
    (root / "workflow" / "scripts" / "report_content.py").write_text(
        "from aiha.clinical_content import clinical_content\n")
    (root / "workflow" / "rules" / "report.smk").write_text(
        'rule render_report:\n    script:\n        "../scripts/report_render.py"\n'
        'rule clinical_content:\n    script:\n        "../scripts/report_content.py"\n')
    assert "workflow/scripts/report_content.py" in violations(root)
    # Run by the statistics stage instead: not report code.
    (root / "workflow" / "rules" / "report.smk").write_text(
        'rule render_report:\n    script:\n        "../scripts/report_render.py"\n')
    (root / "workflow" / "rules" / "statistics.smk").write_text(
        'rule clinical_content:\n    script:\n        "../scripts/report_content.py"\n')
    assert "workflow/scripts/report_content.py" not in violations(root)
