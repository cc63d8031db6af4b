"""One error type for bad input, so every message names file, row, column and value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class InputError(Exception):
    """Bad input found in a file.

    ``row`` is the 1-based data row (header excluded) where it applies.

    The message never shows an identifier, whoever raises it: a value from an
    identifier column (record number, name, date of birth) is shown as its kind,
    a value that matches an identifier of the study (the index the cleaning
    activated, :mod:`aiha.identifiers`) or is shaped like one (a name, a long
    number) as ``[identifier]``/``[not shown...]``, and identifiers inside the
    message text are redacted. Enforced here, once, for every caller.
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    value: Any = None

    def __str__(self) -> str:
        from aiha import identifiers

        where = [f"file {self.file}"]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            column = str(self.column)
            shown = column if not identifiers.looks_like_identifier(column) else "[not shown]"
            where.append(f"column {identifiers.scrub(shown)!r}")
        value = identifiers.safe_value(self.column, self.value)
        if value is not None:
            where.append(f"value {value!r}")
        return f"{', '.join(where)}: {identifiers.scrub(str(self.message))}"


class ConfigError(Exception):
    """A config value that is wrong in meaning (not caught by the schema): the
    message names the config key (and the sensitivity variant, if any)."""
