"""A deadline: a moment by which something must have happened to a lead or a deal, or someone
is told. Rows swept by beat (crm/deadlines/sweep.py); raising one is a conditional update, so
it happens exactly once. What a kind means (who is told, what, with which link) is registered
by the app that owns it: crm/deadlines/registry.py."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Deadline(models.Model):
    # The subject: a lead or a deal, exactly one (two nullable foreign keys, not a generic
    # relation: the sweep's SQL and the reports join them like any column, and a deleted
    # subject takes its deadlines with it in the database).
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, null=True, blank=True, related_name="deadlines"
    )
    deal = models.ForeignKey(
        "deals.Deal",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deadlines",
        db_index=False,  # deadline_deal below: partial, so a lead's deadline never touches it
    )
    # The lead's team, copied when the deadline is scheduled (a lead never moves to another
    # team): the team report counts a team's SLA breaches by it, one range of
    # `deadline_breach_team`, instead of reading the lead of every breach (145,000 random lead
    # pages for the peak day at 10M leads). NULL for a deal's deadline and for a lead's written
    # before the copy existed (the report reads those through the lead). No constraint in the
    # database: adding one reads the whole table under a lock that holds off the intake, and
    # a team is deleted only once it has no leads, so no deadline either; no index of its own.
    lead_team = models.ForeignKey(
        "teams.Team",
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    # A kind registered by its app (registry.kinds()); not a choices field, so that an app
    # adding a kind needs no migration here.
    kind = models.CharField(_("kind"), max_length=20)
    due_at = models.DateTimeField(_("due at"))
    raised_at = models.DateTimeField(_("raised at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")
        constraints = [
            models.CheckConstraint(
                condition=Q(lead__isnull=False, deal__isnull=True)
                | Q(lead__isnull=True, deal__isnull=False),
                name="deadline_one_subject",
            ),
        ]
        indexes = [
            # The sweep reads pending deadlines in due order: its cost follows the number of
            # due ones, not the size of the table.
            models.Index(
                fields=["due_at"],
                condition=Q(raised_at=None, cancelled_at=None),
                name="deadline_pending",
            ),
            # A deal's deadlines (cancel on accept, cascade on delete). Partial: most rows are a
            # lead's, and raising one (an UPDATE the sweep makes 1,000 at a time) would
            # otherwise add an entry to a full index of NULLs.
            models.Index(fields=["deal"], condition=Q(deal__isnull=False), name="deadline_deal"),
            # The report's breach charts: the raised breaches of a period by team, index-only.
            models.Index(
                fields=["due_at", "lead_team", "lead", "id"],
                condition=Q(kind="breach", raised_at__isnull=False),
                name="deadline_breach_team",
            ),
        ]

    def __str__(self) -> str:
        from crm.deadlines.registry import label

        return f"{label(self.kind)} · {self.due_at:%Y-%m-%d %H:%M}"
