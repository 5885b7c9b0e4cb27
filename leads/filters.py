import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from leads.models import Lead, LeadSource
from leads.selectors import AGE_FILTERS


class QueueFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        label=_("State"),
        choices=[(s.value, s.label) for s in Lead.OPEN_STATES],
        empty_label=_("All open"),
    )
    source = django_filters.ModelChoiceFilter(
        label=_("Source"), queryset=LeadSource.objects.all(), empty_label=_("All sources")
    )
    temperature = django_filters.ChoiceFilter(
        label=_("Temperature"), choices=Lead.Temperature.choices, empty_label=_("Any")
    )
    assignee = django_filters.ChoiceFilter(
        label=_("Assignee"),
        choices=[("me", _("Mine")), ("nobody", _("Unassigned"))],
        empty_label=_("Anyone"),
        method="filter_assignee",
    )
    age = django_filters.ChoiceFilter(
        label=_("Age"),
        choices=[
            ("1h", _("Last hour")),
            ("24h", _("Last 24 hours")),
            ("older_1d", _("Older than a day")),
            ("older_7d", _("Older than a week")),
        ],
        empty_label=_("Any age"),
        method="filter_age",
    )

    class Meta:
        model = Lead
        fields = ["state", "source", "temperature", "assignee", "age"]

    def filter_assignee(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        if value == "me":
            return queryset.filter(assignee=self.request.user)
        if value == "nobody":
            return queryset.exclude(Lead.claim_active_q(timezone.now()))
        return queryset

    def filter_age(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        return queryset.filter(AGE_FILTERS[value](timezone.now()))
