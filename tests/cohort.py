"""The sample cohort (docs/sample-cohort.csv), its dates moved to a given day.

The sample is written as of 2026-11-22; tests that run on the real clock (CLI in a
subprocess, end-to-end servers) shift every date by the same number of days so the
cohort stays exactly as eligible as on that day."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "docs" / "sample-cohort.csv"
SAMPLE_AS_OF = date(2026, 11, 22)
ELIGIBLE = {"Maria Alvarez", "David Chen", "Priya Natarajan", "Grace Kim", "Aisha Rahman", "Kevin O'Brien",
            "Hannah Weiss"}


def sample_as_of(today: date) -> bytes:
    """The sample's bytes with every ISO date moved by ``today - SAMPLE_AS_OF``."""
    delta = timedelta(days=(today - SAMPLE_AS_OF).days)

    def move(match: re.Match[str]) -> str:
        return (date.fromisoformat(match.group(0)) + delta).isoformat()

    return re.sub(r"\b\d{4}-\d{2}-\d{2}\b", move, SAMPLE.read_text("utf-8")).encode("utf-8")
