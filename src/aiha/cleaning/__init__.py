"""Clinical data cleaning: site exports -> tidy, typed, pseudonymized tables.

Every change to a value is written to the cleaning log (file, row, field, old,
new, reason). Bad input raises :class:`aiha.errors.InputError` naming the file,
row, column and value; suspicious but plausible values are kept and flagged.
Row numbers are 1-based data rows (the header is not counted).

Modules: ``profiles`` (site export profiles, config limits), ``reading`` (real
CSV, cell parsers), ``freetext`` (identifiers and formulas out of free text),
``tables`` (one cleaner per raw table), ``study`` (all sites together).
"""

from aiha.cleaning.freetext import clean_text, neutralise_formula
from aiha.cleaning.profiles import CleaningLimits, SiteProfile, load_site_profiles
from aiha.cleaning.reading import FIELD_SIZE_LIMIT, read_raw_table
from aiha.cleaning.study import RAW_TABLES, CleanTables, clean_study, input_summary, study_index
from aiha.cleaning.tables import LOG_COLUMNS, CleaningLog

__all__ = [
    "FIELD_SIZE_LIMIT", "LOG_COLUMNS", "RAW_TABLES", "CleanTables", "CleaningLimits",
    "CleaningLog", "SiteProfile", "clean_study", "clean_text", "input_summary",
    "load_site_profiles", "neutralise_formula", "read_raw_table", "study_index",
]
