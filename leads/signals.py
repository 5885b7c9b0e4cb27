"""Sent by the bulk writes that send no post_save, for what keeps figures over leads (the team
report's roll-ups: reports/signals.py)."""

from django.dispatch import Signal

imported = Signal()  # leads: list[Lead], created by a CSV import (any creation date)
