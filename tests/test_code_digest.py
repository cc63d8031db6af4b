"""The package code each workflow script runs (aiha.code_digest), read from the source."""

from __future__ import annotations

from pathlib import Path

from aiha.code_digest import code_digest, module_files

ROOT = Path(__file__).resolve().parents[1]


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def tree(tmp_path: Path) -> tuple[Path, Path]:
    src = tmp_path / "src"
    write(src, "aiha/__init__.py", "")
    write(src, "aiha/a.py", "import os\nfrom aiha import b\n")
    write(src, "aiha/b.py", "def f():\n    from .sub.c import g  # lazy, relative\n")
    write(src, "aiha/sub/__init__.py", "")
    write(src, "aiha/sub/c.py", "from ..d import (\n    x,\n    y as z,\n)\n")
    write(src, "aiha/d.py", "x = y = 1\n")
    write(src, "aiha/unused.py", "")
    script = write(tmp_path, "script.py", "from aiha.a import thing\nimport pandas\n")
    return script, src


def test_every_module_reached_through_imports_and_nothing_else(tmp_path: Path) -> None:
    script, src = tree(tmp_path)
    got = [p.relative_to(src).as_posix() for p in module_files(script, src)]
    assert got == ["aiha/__init__.py", "aiha/a.py", "aiha/b.py", "aiha/d.py",
                   "aiha/sub/__init__.py", "aiha/sub/c.py"]


def test_the_digest_changes_with_an_imported_module_only(tmp_path: Path) -> None:
    script, src = tree(tmp_path)
    first = code_digest(script, src)
    (src / "aiha/unused.py").write_text("changed = 1\n")
    from aiha import code_digest as cd
    cd._source.cache_clear()
    cd._imports.cache_clear()
    assert code_digest(script, src) == first
    (src / "aiha/d.py").write_text("x = y = 2\n")
    cd._source.cache_clear()
    cd._imports.cache_clear()
    assert code_digest(script, src) != first


def test_the_workflow_scripts_reach_their_domain_modules() -> None:
    scripts, src = ROOT / "workflow/scripts", ROOT / "src"

    def modules(name: str) -> set[str]:
        return {p.relative_to(src / "aiha").as_posix() for p in
                module_files(scripts / f"{name}.py", src)}

    assert "response.py" in modules("score_responses")
    assert not any(m.startswith("cleaning/") for m in modules("score_responses"))
    assert {"report/context.py", "report/model.py", "formatting.py"} <= modules("report_render")
    assert "cytometry/gating.py" in modules("cytometry_gate")


def test_a_comment_inside_an_import_list_hides_no_module(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src, "aiha/__init__.py", "")
    write(src, "aiha/sub/__init__.py", "")
    write(src, "aiha/sub/c.py", "")
    script = write(tmp_path, "s.py", "from aiha.sub import (\n    x,  # one, two\n    c,\n)\n")
    got = [p.relative_to(src).as_posix() for p in module_files(script, src)]
    assert "aiha/sub/c.py" in got
