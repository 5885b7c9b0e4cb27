from typing import cast

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.teams.models import Role, Team
from deals.models import Deal, VisitSlot
from handoff.models import Dispute
from handoff.services import free_slots
from leads.models import Criterion, Lead

CHOOSE_TEAM = _("Choose a sales team this team hands off to.")


class CloserField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.username


class SlotField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return (
            f"{timezone.localtime(obj.starts_at):%a %d.%m %H:%M} — "
            f"{obj.closer.get_full_name() or obj.closer.username}"
        )


class ConvertForm(forms.Form):
    """Hand off: to a team, optionally to a chosen closer, or with a site visit booked in a
    closer's free slot while the customer is still on the line."""

    sales_team = forms.ModelChoiceField(
        label=_("Hand off to"),
        queryset=Team.objects.none(),
        required=False,
        error_messages={"invalid_choice": CHOOSE_TEAM},
    )
    closer = CloserField(
        label=_("Closer"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("by load and win rate"),
    )
    slot = SlotField(
        label=_("Book a site visit"),
        queryset=VisitSlot.objects.none(),
        required=False,
        empty_label=_("no visit booked now"),
    )
    address = forms.CharField(label=_("Visit address"), max_length=300, required=False)

    def __init__(self, *args, lead: Lead, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        teams = lead.team.receiving_sales_teams()
        cast(forms.ModelChoiceField, self.fields["sales_team"]).queryset = teams
        closer = cast(forms.ModelChoiceField, self.fields["closer"])
        slot = cast(forms.ModelChoiceField, self.fields["slot"])
        closer.queryset = (
            get_user_model()
            .objects.filter(teams__in=teams, groups__name=Role.CLOSER, is_active=True)
            .distinct()
        )
        slots = [s for team in teams for s in free_slots(team, timezone.now())]
        slot.queryset = (
            VisitSlot.objects.filter(pk__in=[s.pk for s in slots])
            .select_related("closer")
            .order_by("starts_at")
        )


class DisputeForm(forms.Form):
    criterion = forms.ModelChoiceField(
        label=_("Which criterion was wrong"), queryset=Criterion.objects.all()
    )
    claim = forms.CharField(label=_("What was wrong"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, deal: Deal | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if deal is not None and not self.is_bound:  # offer the criteria the lead was asked
            answered = deal.lead.answers.exclude(criterion=None).order_by("answered_at")
            field = cast(forms.ModelChoiceField, self.fields["criterion"])
            field.queryset = Criterion.objects.filter(pk__in=answered.values("criterion"))
            questions = dict(answered.values_list("criterion_id", "question"))
            # Django reads the label through the field instance: the stubs type it as a method.
            field.label_from_instance = lambda c: questions.get(c.pk, c.question)  # type: ignore[method-assign, assignment]


class CommentForm(forms.Form):
    text = forms.CharField(label=_("Your comment"), widget=forms.Textarea(attrs={"rows": 2}))


class RulingForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Ruling"), choices=Dispute.Outcome.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(label=_("Why"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
