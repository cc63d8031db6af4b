"""Reader's labels of the cytometry figures: populations, channels, visits, and
the abbreviations a caption has to define.

Gate names are a lab's identifiers (``CD3pos``, ``Time``, ``DP``); the figures
print human labels instead:

- the populations the analysis reads (config ``cytometry.populations``) carry the
  label of their role (``T cells``, ``Central memory``, ...);
- a name ending in ``pos``/``neg`` becomes ``+``/``−`` (``CD38pos`` -> ``CD38+``);
- the common clean-up gates get their usual wording (``Time`` -> ``Stable
  acquisition``, ``Margin`` -> ``On-scale events``, ...);
- a short abbreviation of a quadrant or half-open rectangle (``DP``) is spelled by
  its markers (``CD4+CD8+``);
- underscores become spaces: no snake_case identifier reaches the reader.

No FlowKit import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

MINUS = "\u2212"

# Labels of the roles of config cytometry.populations (None: from the gate name).
ROLE_LABELS: dict[str, str | None] = {
    "t_cells": "T cells",
    "cd38": None,
    "activation": None,
    "divided": "Divided",
    "subset naive": "Naive",
    "subset central_memory": "Central memory",
    "subset effector_memory": "Effector memory",
    "subset temra": "TEMRA",
}

# Usual names of clean-up gates (key: lower case, no spaces/underscores/hyphens).
COMMON_GATES = {
    "time": "Stable acquisition",
    "timegate": "Stable acquisition",
    "margin": "On-scale events",
    "margins": "On-scale events",
    "singlets": "Single cells",
    "singlecells": "Single cells",
    "singlets1": "Single cells",
    "lymphocytes": "Lymphocytes",
    "lymphs": "Lymphocytes",
    "lymph": "Lymphocytes",
    "live": "Live cells",
    "livecells": "Live cells",
    "viable": "Live cells",
    "cells": "Cells",
}

# Abbreviations a figure may print, defined under it when they occur.
ABBREVIATIONS: dict[str, str] = {
    "FSC-A": "forward scatter, area",
    "FSC-H": "forward scatter, height",
    "FSC-W": "forward scatter, width",
    "SSC-A": "side scatter, area",
    "SSC-H": "side scatter, height",
    "SSC-W": "side scatter, width",
    "CD": "cluster of differentiation",
    "CCR7": "C-C chemokine receptor 7",
    "CD45RA": "CD45 isoform RA",
    "HLA-DR": "human leukocyte antigen DR",
    "TEMRA": "effector memory T cells re-expressing CD45RA",
    "CTV": "CellTrace Violet (division dye)",
    "CFSE": "carboxyfluorescein succinimidyl ester (division dye)",
    "BV421": "Brilliant Violet 421",
    "BV510": "Brilliant Violet 510",
    "BV605": "Brilliant Violet 605",
    "BV650": "Brilliant Violet 650",
    "BV711": "Brilliant Violet 711",
    "BV786": "Brilliant Violet 786",
    "FITC": "fluorescein isothiocyanate",
    "PE": "phycoerythrin",
    "PE-Cy5": "phycoerythrin-cyanine 5",
    "PE-Cy7": "phycoerythrin-cyanine 7",
    "PerCP": "peridinin chlorophyll protein",
    "PerCP-Cy5.5": "peridinin chlorophyll protein-cyanine 5.5",
    "APC": "allophycocyanin",
    "APC-H7": "allophycocyanin-H7",
    "APC-Cy7": "allophycocyanin-cyanine 7",
    "AF488": "Alexa Fluor 488",
    "AF647": "Alexa Fluor 647",
}

# Names of the display scales (FlowKit transform class -> words).
SCALE_NAMES = {
    "LogicleTransform": "logicle",
    "AsinhTransform": "arcsinh",
    "WSPBiexTransform": "biexponential (FlowJo)",
    "HyperlogTransform": "hyperlog",
    "LogTransform": "logarithmic",
    "WSPLogTransform": "logarithmic (FlowJo)",
    "LinearTransform": "linear",
}


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).lower()


def derived_label(name: str) -> str:
    """A gate name in words: ``CD38pos`` -> ``CD38+``, ``CD4posCD8neg`` ->
    ``CD4+CD8−``, ``Time`` -> ``Stable acquisition``, ``live_cells`` -> ``Live cells``."""
    text = str(name).strip()
    if _key(text) in COMMON_GATES:
        return COMMON_GATES[_key(text)]
    text = re.sub(r"(?<=[A-Za-z0-9])(?:pos|Pos|POS)(?=$|[A-Z_\s/-])", "+", text)
    text = re.sub(r"(?<=[A-Za-z0-9])(?:neg|Neg|NEG)(?=$|[A-Z_\s/-])", MINUS, text)
    text = re.sub(r"(?<=[+\u2212])[_\s]+(?=[A-Z])", "", text)
    text = re.sub(r"_+", " ", text).strip()
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def is_abbreviation(label: str) -> bool:
    """``DP``, ``DN``, ``Q1``: too short to tell a reader anything."""
    return bool(re.fullmatch(r"[A-Z][A-Z0-9]{0,2}", label))


def lower_first(label: str) -> str:
    """``Live cells`` -> ``live cells`` (after "of"); ``T cells``, ``CD3+`` unchanged."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def visit_label(visit: str) -> str:
    """``week4`` -> ``Week 4``, ``baseline`` -> ``Baseline``, ``month_2`` -> ``Month 2``."""
    text = re.sub(r"[_\s]+", " ", str(visit)).strip()
    text = re.sub(r"(?<=[A-Za-z])(?=\d)", " ", text)
    return text[:1].upper() + text[1:]


def fluorochrome(detector: str) -> str:
    """The fluorochrome of a detector name: ``Comp-PE-Cy7-A`` -> ``PE-Cy7``."""
    text = re.sub(r"^Comp-", "", str(detector))
    return re.sub(r"-[AHW]$", "", text)


def channel_label(pnn: str, pns: str) -> str:
    """An axis label: ``CD3 (BV421)`` for a marker on a detector, ``FSC-A`` for scatter,
    the marker label alone when it already names the fluorochrome; underscores of a
    lab's channel names become spaces."""
    pns = re.sub(r"_+", " ", (pns or "")).strip()
    pnn = re.sub(r"_+", " ", str(pnn)).strip()
    if not pns or pns == pnn:
        return pnn
    fluor = fluorochrome(pnn)
    if fluor and fluor not in pns and fluor != pns:
        return f"{pns} ({fluor})"
    return pns


class PopulationNames:
    """Human labels of populations: ``roles`` maps a role of config
    ``cytometry.populations`` (``t_cells``, ``subset naive``, ... as in
    :func:`aiha.cytometry.populations.tube_populations`) to its population name or
    path; a population the config names carries its role's label."""

    def __init__(self, roles: Mapping[str, str] | None = None) -> None:
        self.by_leaf: dict[str, str] = {}
        for role, spec in (roles or {}).items():
            label = ROLE_LABELS.get(role)
            if label:  # a gate several roles name keeps the first role's label
                self.by_leaf.setdefault(str(spec).rstrip("/").split("/")[-1], label)

    def short(self, name: str, phenotype: str = "") -> str:
        """The label alone: ``T cells``, ``CD38+``, ``Central memory``, ``CD4+CD8+``."""
        if name in self.by_leaf:
            return self.by_leaf[name]
        derived = derived_label(name)
        if phenotype and is_abbreviation(derived):
            return phenotype
        return derived

    def full(self, name: str, phenotype: str = "") -> str:
        """The label with the gate's marker phenotype when the role's label hides it:
        ``T cells (CD3+)``."""
        short = self.short(name, phenotype)
        derived = derived_label(name)
        if short != derived and derived != short and not is_abbreviation(derived) \
                and re.search(r"[+\u2212]$", derived):
            return f"{short} ({derived})"
        return short


def phenotype_label(signs: Sequence[tuple[str, str]]) -> str:
    """``[("CD4", "+"), ("CD8", "−")]`` -> ``CD4+CD8−``."""
    return "".join(f"{marker}{sign}" for marker, sign in signs)


def abbreviations_used(texts: Iterable[str]) -> list[tuple[str, str]]:
    """The :data:`ABBREVIATIONS` occurring in ``texts`` (as whole tokens), in
    table order; ``CD`` when any CD marker occurs."""
    joined = " ".join(texts)
    found = []
    for abbr, meaning in ABBREVIATIONS.items():
        if abbr == "CD":
            hit = re.search(r"(?<![A-Za-z])CD\d", joined)
        else:
            hit = re.search(rf"(?<![A-Za-z0-9]){re.escape(abbr)}(?![A-Za-z0-9.\-]*[A-Za-z0-9])", joined)
        if hit:
            found.append((abbr, meaning))
    return found


def scale_name(transform: object) -> str:
    """``logicle``, ``arcsinh``, ... of a FlowKit transform object."""
    name = type(transform).__name__
    return SCALE_NAMES.get(name, re.sub(r"Transform$", "", name).lower())


# ------------------------------------------------------------ report display names
# The demo panel's populations (config.yaml's cytometry.populations) and the words the
# report uses for them. A lab that maps its own gates gets these words only for a
# role it maps to the demo's gate, or names in cytometry.populations.labels.
DEMO_POPULATIONS: dict[str, str] = {
    "t_cells": "CD3pos", "cd38": "CD38pos", "activation": "CD69pos", "divided": "Divided",
    "naive": "Naive", "central_memory": "CM", "effector_memory": "EM", "temra": "TEMRA",
}
DEMO_DISPLAY: dict[str, str] = {
    "t_cells": "CD3+ T cells", "cd38": "CD38+ T cells", "activation": "CD69+ (activated) T cells",
    "divided": "divided T cells", "naive": "naive T cells", "central_memory": "central memory T cells",
    "effector_memory": "effector memory T cells", "temra": "TEMRA cells",
    "division_dye": "CellTrace Violet", "stimulus": "anti-CD3/CD28",
}
# Without a label and off the demo panel: the words that name only the role.
GENERIC_DISPLAY: dict[str, str] = {
    "division_dye": "the division dye", "stimulus": "in-vitro stimulation",
}
DISPLAY_ROLES = ("t_cells", "cd38", "activation", "divided", "naive", "central_memory",
                 "effector_memory", "temra", "division_dye", "stimulus")


def role_specs(populations: Mapping[str, object]) -> dict[str, str]:
    """Config ``cytometry.populations`` flattened: role -> population name or path
    (``naive``, ... for the subsets)."""
    out = {k: str(v) for k, v in populations.items() if isinstance(v, str)}
    out.update({k: str(v) for k, v in dict(populations.get("subsets") or {}).items()})
    return out


def display_labels(populations: Mapping[str, object]) -> dict[str, str]:
    """The words the report prints for each role of config ``cytometry.populations``
    (:data:`DISPLAY_ROLES`): the lab's own ``labels`` first; else the demo panel's
    words when the role is mapped to the demo's gate (the division dye and the
    stimulus: when the whole functional tube is the demo's); else words derived from
    the gate's own name (``CD38pos`` -> ``CD38+``), never the demo's."""
    own = {k: str(v) for k, v in dict(populations.get("labels") or {}).items() if v}
    specs = role_specs(populations)
    demo_function = all(specs.get(r, DEMO_POPULATIONS[r]) == DEMO_POPULATIONS[r]
                        for r in ("t_cells", "activation", "divided"))
    out: dict[str, str] = {}
    for role in DISPLAY_ROLES:
        if role in own:
            out[role] = own[role]
        elif role in GENERIC_DISPLAY:
            out[role] = DEMO_DISPLAY[role] if demo_function else GENERIC_DISPLAY[role]
        elif specs.get(role, DEMO_POPULATIONS[role]) == DEMO_POPULATIONS[role]:
            out[role] = DEMO_DISPLAY[role]  # the demo's gate (or no mapping given at all)
        else:
            leaf = derived_label(specs.get(role, role).rstrip("/").split("/")[-1])
            out[role] = leaf if role in ("naive", "central_memory", "effector_memory",
                                         "temra") else f"{leaf} cells"
    return out


def qc_reason(flag: str, events_kept: int, percent_kept: float,
              min_events_kept: int, min_percent_kept: float) -> str:
    """A QC flag of results/cytometry/qc.tsv in words, with the sample's value and
    the threshold: ``low_events_kept`` -> ``8,000 events kept, fewer than 10,000``."""
    words = []
    for part in [p for p in str(flag).split(";") if p]:
        if part == "low_events_kept":
            words.append(f"{events_kept:,} events kept, fewer than {int(min_events_kept):,}")
        elif part == "low_percent_kept":
            words.append(f"{percent_kept:.1f}% of events kept, below {float(min_percent_kept):g}%")
        else:
            words.append(re.sub(r"_+", " ", part))
    return "; ".join(words)
