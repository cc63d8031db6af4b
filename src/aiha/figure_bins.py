"""The time bins of the clinical course figures (Figures 3 and 4): the rule that
:func:`aiha.figures.month_bin` and the figure captions share, in a module that
imports no plotting library (the report's render job reads it)."""

# A monthly time bin is summarised (median, IQR) only with at least this many patients.
MIN_PATIENTS_PER_BIN = 3
