"""Synthetic demo cohort: specification, timelines and raw-export writers."""
