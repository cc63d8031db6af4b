"""File names of the report's figures and fonts."""

CLINICAL_FIGURES = {
    "swimmer": "swimmer.svg",
    "hb_trajectories": "hb_trajectories.svg",
    "km_dor": "km_dor.svg",
    "hemolysis": "hemolysis.svg",
}
CYTOMETRY_FIGURES = ["gating_strategy", "cd38_timecourse", "tcell_subsets", "proliferation"]
FONT_FILES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf"]
