"""Prior AIHA therapies: the controlled vocabulary of therapy types.

A site may export an optional column ``prior_therapies`` in ``patients.csv``: the
prior AIHA therapies of the patient as site codes separated by
:data:`SEPARATOR`, each mapped to a type below by the site profile's
``codes.prior_therapy`` (docs/data_dictionary.md). The cleaned patient table
carries one boolean column per type (:func:`column`) and
:data:`RECORDED_COLUMN` (whether the patient's site exports the list at all).

Prior therapies (agents and procedures) and ``prior_lines`` (treatment lines) are
independent: a line may combine agents and an agent may be given in several lines,
so neither is checked against the other.

Kept free of pandas and pandera: the site profiles, the schemas, the statistics
and the report all read it.
"""

from __future__ import annotations

# Separator of the codes in one cell (``PRED|RITUXIMAB``).
SEPARATOR = "|"

# Type id -> (label in the report, what it covers), in the order the report lists them.
# Which site code falls under which type is the site's choice, in its profile.
PRIOR_THERAPY_TYPES: dict[str, tuple[str, str]] = {
    "corticosteroids": ("corticosteroids", "prednisolone, prednisone, dexamethasone or "
                        "methylprednisolone"),
    "rituximab": ("rituximab", "rituximab"),
    "immunosuppressant": ("immunosuppressant", "azathioprine, cyclophosphamide, "
                          "mycophenolate or cyclosporine"),
    "splenectomy": ("splenectomy", "splenectomy"),
    "ivig": ("IVIG", "intravenous immunoglobulin"),
    "bortezomib": ("bortezomib", "bortezomib"),
    "complement_inhibitor": ("complement inhibitor", "eculizumab or sutimlimab"),
    "erythropoietin": ("erythropoietin", "erythropoietin or another erythropoiesis-"
                       "stimulating agent"),
    "other": ("other AIHA therapy", "a therapy outside the types above"),
}

# Whether the patient's site exports the prior_therapies column (the denominator).
RECORDED_COLUMN = "prior_therapies_recorded"


def column(therapy_type: str) -> str:
    """The cleaned patient table's boolean column of a therapy type."""
    return f"prior_{therapy_type}"


def label(therapy_type: str) -> str:
    """The reader's name of a therapy type."""
    return PRIOR_THERAPY_TYPES[therapy_type][0]


def covers(therapy_type: str) -> str:
    """What a therapy type covers, in the reader's words."""
    return PRIOR_THERAPY_TYPES[therapy_type][1]


COLUMNS: tuple[str, ...] = tuple(column(t) for t in PRIOR_THERAPY_TYPES)
