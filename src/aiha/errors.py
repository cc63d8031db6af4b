"""One error type for bad input, so every message names file, row, column and value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class InputError(Exception):
    """Bad input found in a file.

    ``row`` is the 1-based data row (header excluded) where it applies.
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    value: Any = None

    def __str__(self) -> str:
        where = [f"file {self.file}"]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.value is not None:
            where.append(f"value {self.value!r}")
        return f"{', '.join(where)}: {self.message}"


class ConfigError(Exception):
    """A config value that is wrong in meaning (not caught by the schema): the
    message names the config key (and the sensitivity variant, if any)."""
