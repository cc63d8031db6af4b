"""Domain logic for the re-analysis of daratumumab in refractory AIHA.

Pure, typed functions grouped by concept: units, cleaning, response criteria,
statistics, cytometry gating, report formatting. Workflow scripts stay thin and
call into this package.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
