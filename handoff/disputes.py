"""Disputes over a handoff: the closer raises one within the team's window, the qualifier may
answer, and a sales head — never one of the two sides — rules on it, once."""

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm import access
from crm.lib.errors import NotAllowed
from crm.notifications.services import Message, notify
from crm.teams.selectors import teams_for_user
from deals.models import Deal
from deals.services import DealConflict, deal_transition
from handoff.models import Dispute
from handoff.signals import ruled as ruled_signal
from leads.models import Criterion


def disputes_visible_to(user: User) -> Q:
    """Disputes over the deals of the user's sales teams or the handoffs of their
    qualification teams."""
    teams = teams_for_user(user)
    return Q(deal__team__in=teams) | Q(handoff__from_team__in=teams)


def dispute_deadline(deal: Deal) -> datetime:
    return deal.handoff.handed_off_at + timedelta(days=deal.team.dispute_window_days)


def dispute_blockers(deal: Deal, now: datetime) -> list[str]:
    """Why the deal's handoff cannot be disputed now (empty: it can): the deal page's dispute
    box and `dispute_raise` ask the same question. Who may dispute is crm/access.py's."""
    if getattr(deal, "handoff", None) is None:
        return [_("This deal came from no handoff.")]
    if Dispute.objects.filter(deal=deal).exists():
        return [_("This deal is already disputed.")]
    if deal.stage in (Deal.Stage.WON, Deal.Stage.RETURNED):
        return [
            _("A deal that is %(stage)s cannot be disputed.") % {"stage": deal.get_stage_display()}
        ]
    if now > dispute_deadline(deal):
        return [_("The dispute window of this handoff has closed.")]
    return []


def dispute_raise(
    *,
    deal: Deal,
    by: User,
    criterion: Criterion | None,
    claim: str,
    now: datetime | None = None,
) -> Dispute:
    now = now or timezone.now()
    if not access.may_dispute(by, deal):
        raise NotAllowed(_("Only the deal's closer can dispute its handoff."))
    blockers = dispute_blockers(deal, now)
    if blockers:
        raise DealConflict(" ".join(blockers))
    errors = {}
    if criterion is None:
        errors["criterion"] = _("Name the criterion the qualification got wrong.")
    elif not deal.lead.answers.filter(criterion=criterion).exists():
        errors["criterion"] = _("Name a criterion the lead was qualified on.")
    if not claim.strip():
        errors["claim"] = _("Say what was wrong.")
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(
                deal=deal,
                handoff=deal.handoff,
                criterion=criterion,
                criterion_question=criterion.question if criterion else "",
                claim=claim.strip(),
                raised_by=by,
                raised_at=now,
            )
            _tell(
                deal.team.manager,
                dispute,
                now,
                gettext_noop("%(closer)s disputes the handoff of %(contact)s."),
                deal.team,
            )
            _tell(
                deal.handoff.qualifier,
                dispute,
                now,
                gettext_noop("%(closer)s disputes your handoff of %(contact)s."),
                deal.handoff.from_team,
            )
    except IntegrityError:
        raise DealConflict(_("This deal is already disputed.")) from None
    return dispute


def dispute_comment(*, dispute: Dispute, by: User, text: str) -> None:
    if not access.may_comment_dispute(by, dispute):
        raise NotAllowed(_("Only the qualifier who handed the lead off can answer."))
    if not dispute.is_open:
        raise DealConflict(_("This dispute is already resolved."))
    if not text.strip():
        raise ValidationError({"text": _("Write the comment.")})
    Dispute.objects.filter(pk=dispute.pk).update(qualifier_comment=text.strip())
    dispute.qualifier_comment = text.strip()


def dispute_resolve(
    *,
    dispute: Dispute,
    by: User,
    outcome: str,
    note: str = "",
    now: datetime | None = None,
) -> Dispute:
    now = now or timezone.now()
    if not access.may_rule(by, dispute):
        raise NotAllowed(_("You cannot rule on this dispute."))
    if outcome not in Dispute.Outcome.values:
        raise ValidationError({"outcome": _("Rule upheld or rejected.")})
    with transaction.atomic():
        # Once only: the UPDATE matches only while the dispute is open.
        ruled = Dispute.objects.filter(pk=dispute.pk, outcome="").update(
            outcome=outcome, resolution_note=note.strip(), resolved_by=by, resolved_at=now
        )
        if not ruled:
            raise DealConflict(_("This dispute is already resolved."))
        ruled_signal.send(sender=Dispute, dispute=dispute)  # the UPDATE sent no post_save
        if outcome == Dispute.Outcome.UPHELD and dispute.deal.is_open:
            # access.may_rule above is the rule for rulings, not the closer's-hands rule
            deal_transition(
                deal=dispute.deal,
                by=by,
                name="return_to_qualification",
                note=note,
                now=now,
                checked=True,
            )
    dispute.refresh_from_db()
    return dispute


def _tell(user: User | None, dispute: Dispute, now: datetime, message: str, team=None) -> None:
    if user is None:
        return
    notify(
        [
            Message(
                recipient=user,
                kind="dispute",
                message=message,
                params={
                    "closer": dispute.raised_by.get_full_name() or dispute.raised_by.get_username(),
                    # The name as the handoff carried it: the qualifier's team may not see the
                    # sales team's contact, which other teams' handoffs may have filled in.
                    "contact": dispute.deal.lead.name,
                },
                url=reverse("handoff:dispute", args=[dispute.pk]),
                team=team,
            )
        ],
        now,
    )
