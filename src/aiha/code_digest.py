"""Which code of the ``aiha`` package a workflow script runs, and one digest over it.

Snakemake reruns a job when its script changes, but not when a module the script
imports changes. Each rule gets the digest of the package modules its script imports
(directly or through other modules) as a ``params`` value, so editing
``src/aiha/response.py`` reruns the jobs that score responses and nothing else.

Imports are read from the source text, not executed: parsing the workflow stays cheap
and imports nothing.
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

PACKAGE = "aiha"


def _module_file(src: Path, dotted: str) -> Path | None:
    """The file of module ``dotted`` (``aiha.report.model``) under ``src``, if any."""
    base = src.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_chain(dotted: str) -> list[str]:
    """``aiha.report.model`` -> ``aiha``, ``aiha.report``, ``aiha.report.model``: importing a
    module runs every package ``__init__`` on its way."""
    parts = dotted.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


# ``from X import a, b`` (names possibly in parentheses over lines) or ``import X, Y``,
# at any indentation (imports inside functions count). Text, not execution: a match
# inside a string only widens the digest.
_IMPORT = re.compile(r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)"
                     r"|^[ \t]*import[ \t]+([^\n]+)", re.M)


def _names(text: str) -> list[str]:
    """The names of an import list (``a, b as c`` or ``(a,  # note\n b)``)."""
    text = re.sub(r"#[^\n]*", "", text).strip("() \n").replace("\n", " ")
    return [part.split(" as ")[0].strip() for part in text.split(",") if part.strip()]


@functools.lru_cache(maxsize=None)
def _source(path: Path) -> bytes:
    return path.read_bytes()


@functools.lru_cache(maxsize=None)
def _imports(path: Path, dotted: str) -> tuple[str, ...]:
    """The ``aiha`` modules one file imports (absolute and relative imports, and the
    submodules named in ``from aiha.x import y``)."""
    here = dotted if path.name == "__init__.py" else dotted.rpartition(".")[0]
    found: list[str] = []
    for match in _IMPORT.finditer(_source(path).decode("utf-8")):
        source, names, plain = match.groups()
        if plain is not None:
            found += _names(plain)
            continue
        level = len(source) - len(source.lstrip("."))
        if level:
            base = here.split(".")
            base = base[:len(base) - (level - 1)] if level > 1 else base
            module = ".".join(base + ([source[level:]] if source[level:] else []))
        else:
            module = source
        found.append(module)
        found += [f"{module}.{name}" for name in _names(names)]
    return tuple(sorted({m for m in found if m == PACKAGE or m.startswith(PACKAGE + ".")}))


def module_files(script: str | Path, src: str | Path) -> list[Path]:
    """Every file of the package that ``script`` imports, directly or not, sorted."""
    src = Path(src)
    seen: dict[str, Path] = {}
    todo = list(_imports(Path(script), "__script__"))
    while todo:
        for dotted in _package_chain(todo.pop()):
            if dotted in seen:
                continue
            path = _module_file(src, dotted)
            if path is None:  # a name imported from a module, not a module
                continue
            seen[dotted] = path
            todo += _imports(path, dotted)
    return sorted(seen.values())


def code_digest(script: str | Path, src: str | Path) -> str:
    """SHA-256 over the names and bytes of the package files ``script`` runs."""
    src = Path(src)
    h = hashlib.sha256()
    for path in module_files(script, src):
        h.update(path.relative_to(src).as_posix().encode("utf-8") + b"\0")
        h.update(_source(path) + b"\0")
    return h.hexdigest()
