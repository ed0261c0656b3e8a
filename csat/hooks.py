"""Named hooks of CSAT, fired inside the transaction of the change (Django signals)."""

from __future__ import annotations

from django.dispatch import Signal

# survey=Survey (rated or re-rated)
survey_rated = Signal()
