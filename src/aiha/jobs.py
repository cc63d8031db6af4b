"""One way to run a workflow script and report its failure.

Every script in ``workflow/scripts/`` is a thin ``main(sm)`` run through
:func:`run_script`:

- bad input (:class:`aiha.errors.InputError`, or a config value found wrong at run
  time, :class:`aiha.errors.ConfigError`) prints one line, ``ERROR: ...``, on the
  terminal and in the rule's log, and the job exits 1;
- any other exception leaves its full traceback in the rule's log (and on the
  terminal) and the job fails.

The log stays open until the traceback is written: no "lost sys.stderr".
"""

from __future__ import annotations

import os
import sys
import traceback
from types import SimpleNamespace
from typing import Any, Callable

from aiha.errors import ConfigError, InputError


class Files(list):
    """A plain stand-in for Snakemake's named file lists (``input``, ``output``,
    ``log``): a list whose named entries are also attributes and keys."""

    def __init__(self, items: list[Any], names: dict[str, Any]) -> None:
        super().__init__(items)
        self._names = dict(names)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_names"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, key: Any) -> Any:
        return self._names[key] if isinstance(key, str) else super().__getitem__(key)

    def keys(self) -> list[str]:
        return list(self._names)

    def items(self) -> list[tuple[str, Any]]:
        return list(self._names.items())


def _plain(named: Any) -> Files:
    names = {k: (list(v) if isinstance(v, list) else v) for k, v in named.items()}
    return Files([str(x) for x in named], names)


def record_job(sm: Any, script: str, folder: str) -> None:
    """Save what a job gets (rule, input, output, log, params) for the one-process
    replay of the workflow (``benchmarks/floor.py``): ``AIHA_RECORD_JOBS=<folder>``."""
    import pickle
    import time

    job = SimpleNamespace(rule=sm.rule, script=script, input=_plain(sm.input),
                          output=_plain(sm.output), log=_plain(sm.log),
                          params=_plain(sm.params), wildcards=dict(sm.wildcards.items()))
    path = os.path.join(folder, f"{time.time_ns()}-{os.getpid()}.pkl")
    with open(path, "wb") as handle:
        pickle.dump(job, handle)


def run_script(main: Callable[[Any], None], sm: Any) -> None:
    """Run ``main(sm)`` with ``sys.stderr`` pointed at the rule's log (``sm.log[0]``)."""
    folder = os.environ.get("AIHA_RECORD_JOBS")
    if folder and not isinstance(sm, SimpleNamespace):
        record_job(sm, main.__code__.co_filename, folder)
    terminal = sys.stderr
    log_path = sm.log[0] if len(sm.log) else None
    log = open(log_path, "w", encoding="utf-8") if log_path else terminal
    sys.stderr = log
    try:
        main(sm)
    except (InputError, ConfigError) as err:
        line = f"ERROR: {err}"
        print(line, file=log, flush=True)
        if log is not terminal:
            print(line, file=terminal, flush=True)
        sys.stderr = terminal
        if log is not terminal:
            log.close()
        raise SystemExit(1) from None
    except BaseException:
        text = traceback.format_exc()
        print(text, file=log, flush=True)
        if log is not terminal:
            print(f"rule failed; full traceback in {log_path}", file=terminal, flush=True)
            print(text, file=terminal, flush=True)
        sys.stderr = terminal
        if log is not terminal:
            log.close()
        raise SystemExit(1) from None
    sys.stderr = terminal
    if log is not terminal:
        log.close()
