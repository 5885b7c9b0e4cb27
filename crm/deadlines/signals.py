"""Sent by the sweep inside its transaction with the ids of the deadlines it raised, for what
keeps figures over them (the team report's roll-ups: reports/signals.py)."""

from django.dispatch import Signal

raised = Signal()  # ids: list[int], now: datetime
