"""Free text on its way into a results table: identifiers out, formulas defused.

Every free-text cell of the cleaned tables (patient and lab comments, adverse-
event terms and descriptions, the cleaning log's old/new text, the cytometry
sample sheet's visit) goes through :func:`clean_text`:

1. identifiers of any patient of the study, in any common form, become
   ``[redacted]`` (:mod:`aiha.identifiers`);
2. a cell that a spreadsheet would read as a formula gets a leading single quote
   (OWASP, "CSV Injection": a cell starting with ``=``, ``+``, ``-``, ``@``, tab
   or carriage return, after any leading spaces; full-width ``＝＋－＠`` too).
   The quote shows in the tables and in the report: the text is kept, inert.
"""

from __future__ import annotations

from aiha.identifiers import IdentifierIndex, scrub

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise_formula(text: str) -> str:
    """``text`` with a leading ``'`` if a spreadsheet would run it as a formula."""
    if text and text.lstrip(" ").startswith(FORMULA_START):
        return "'" + text
    return text


def clean_text(text: str, index: IdentifierIndex | None = None) -> str:
    """Identifiers redacted, then formulas neutralised."""
    return neutralise_formula(scrub(text, index))
