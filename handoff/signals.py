"""Sent by the writes that send no post_save, for what keeps figures over disputes (the team
report's roll-ups: reports/signals.py)."""

from django.dispatch import Signal

ruled = Signal()  # dispute: Dispute, ruled by a conditional UPDATE
