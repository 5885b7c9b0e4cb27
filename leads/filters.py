from collections.abc import Iterator
from functools import cache

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.html import conditional_escape as esc
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from django_filters.fields import ModelChoiceField, ModelChoiceIterator

from leads.models import Lead, LeadSource
from leads.selectors import AGE_FILTERS


def _attrs(attrs: dict) -> str:
    """django/forms/widgets/attrs.html, in Python."""
    return "".join(
        f" {esc(name)}" if value is True else f' {esc(name)}="{esc(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


class Select(forms.Select):
    """Django's Select with the markup of its templates (select.html, select_option.html,
    attrs.html) written here: the queue page renders five of them on every load, and through
    the form renderer they cost more than the page's fifty rows. Same context, same bytes."""

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        html = [f'<select name="{esc(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                html.append(f'\n  <optgroup label="{esc(group_name)}">')
            html += [
                f'\n  <option value="{esc(str(option["value"]))}"{_attrs(option["attrs"])}>'
                f"{esc(option['label'])}</option>\n"
                for option in options
            ]
            if group_name:
                html.append("\n  </optgroup>")
        html.append("\n</select>")
        return mark_safe("".join(html))  # noqa: S308 - every value above is escaped


class SourceChoices(ModelChoiceIterator):
    """The sources read by one plain statement: Django's iterator() opens a server-side cursor
    on PostgreSQL — DECLARE, FETCH and CLOSE — to read a dozen rows on every refresh."""

    def __iter__(self) -> Iterator[tuple]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for source in self.queryset.all():
            yield self.choice(source)


class SourceField(ModelChoiceField):
    iterator = SourceChoices


class SourceFilter(django_filters.ModelChoiceFilter):
    field_class = SourceField


class QueueFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        label=_("State"),
        choices=[(s.value, s.label) for s in Lead.OPEN_STATES],
        empty_label=_("All open"),
        widget=Select,
    )
    source = SourceFilter(
        label=_("Source"),
        queryset=LeadSource.objects.all(),
        empty_label=_("All sources"),
        widget=Select,
    )
    temperature = django_filters.ChoiceFilter(
        label=_("Temperature"),
        choices=Lead.Temperature.choices,
        empty_label=_("Any"),
        widget=Select,
    )
    assignee = django_filters.ChoiceFilter(
        label=_("Assignee"),
        choices=[("me", _("Mine")), ("nobody", _("Unassigned"))],
        empty_label=_("Anyone"),
        widget=Select,
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
        widget=Select,
        method="filter_age",
    )

    class Meta:
        model = Lead
        fields = ["state", "source", "temperature", "assignee", "age"]

    @classmethod
    @cache
    def _form_class(cls) -> type[forms.Form]:
        fields = {name: filter_.field for name, filter_ in cls.base_filters.items()}
        return type(f"{cls.__name__}Form", (cls._meta.form,), fields)

    def get_form_class(self) -> type[forms.Form]:
        """Built once: django-filter builds the form's class anew for every filter set (each
        refresh of the queue), and these fields depend on nothing of the request."""
        return self._form_class()

    def filter_assignee(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        if value == "me":
            return queryset.filter(assignee=self.request.user)
        if value == "nobody":
            return queryset.exclude(Lead.claim_active_q(timezone.now()))
        return queryset

    def filter_age(self, queryset: QuerySet[Lead], name: str, value: str) -> QuerySet[Lead]:
        return queryset.filter(AGE_FILTERS[value](timezone.now()))
