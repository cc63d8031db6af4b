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

import sys
import traceback
from typing import Any, Callable

from aiha.errors import ConfigError, InputError


def run_script(main: Callable[[Any], None], sm: Any) -> None:
    """Run ``main(sm)`` with ``sys.stderr`` pointed at the rule's log (``sm.log[0]``)."""
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
