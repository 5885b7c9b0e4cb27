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
            # The report's breach charts: the raised breaches of a period, index-only.
            models.Index(
                fields=["due_at", "lead", "id"],
                condition=Q(kind="breach", raised_at__isnull=False),
                name="deadline_breach_raised",
            ),
        ]

    def __str__(self) -> str:
        from crm.deadlines.registry import label

        return f"{label(self.kind)} · {self.due_at:%Y-%m-%d %H:%M}"
