"""The Settings pages' forms. Each says what is wrong next to the field, and a refused form
comes back with everything typed in it."""

import itertools
import json
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet, inlineformset_factory
from django.utils.translation import gettext_lazy as _

from crm.lib import json_input
from crm.lib.slugs import slug_from
from crm.teams.models import Team, WorkingHours
from deals.models import LossReason
from leads.intake import FIELDS as INTAKE_FIELDS
from leads.models import Answer, Criterion, CriterionOption, JunkReason, LeadSource

SLUG_HELP = _("Used by the API and integrations. Left empty, it is made from the name.")


class SlugFromForm(forms.ModelForm):
    """A slug may be left empty: it is made from `slug_source` by transliteration, and made
    unique (`setup.services`). A slug typed that another row has is an error on the field."""

    slug_source = "name"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["slug"].help_text = SLUG_HELP

    def clean_slug(self) -> str:
        slug = self.cleaned_data.get("slug", "")
        if not slug:
            return ""
        others = type(self.instance).objects.filter(slug=slug).exclude(pk=self.instance.pk)
        if others.exists():
            raise ValidationError(
                _("“%(slug)s” is taken by another entry: choose another slug."),
                params={"slug": slug},
            )
        return slug

    def validate_unique(self) -> None:
        # The slug is checked above (and may still be empty here); other fields as usual.
        self._validate_unique = False


class CriterionForm(SlugFromForm):
    slug_source = "question"

    class Meta:
        model = Criterion
        fields = [
            "question",
            "slug",
            "help_text",
            "kind",
            "required",
            "knock_out",
            "weight",
            "good_answer_yes",
            "min_value",
            "max_value",
            "active",
        ]

    def clean(self) -> dict:
        data = cast(dict[str, Any], super().clean())  # a ModelForm's: its cleaned_data
        if data.get("kind") == Criterion.Kind.TEXT and data.get("knock_out"):
            # Said here, not only by the model, so the message sits next to the checkbox.
            self.add_error("knock_out", _("A text answer cannot knock a lead out."))
        return data


class OptionForm(forms.ModelForm):
    class Meta:
        model = CriterionOption
        fields = ["label", "value", "verdict", "order", "archived"]
        help_texts = {"value": _("Left empty, made from the label.")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["value"].required = False
        self.fields["order"].required = False

    def has_changed(self) -> bool:
        # A blank new row (its verdict and order at their defaults) is no option.
        if self.instance.pk is None and not (self["label"].data or self["value"].data):
            return False
        return super().has_changed()

    def clean(self) -> dict:
        data = cast(dict[str, Any], super().clean())  # a ModelForm's: its cleaned_data
        if data.get("label") and not data.get("value"):
            data["value"] = slug_from(data["label"]) or "option"
        if self.instance.pk and "value" in self.changed_data and self._answered():
            self.add_error(
                "value",
                _("Answers use this option's value: add a new option and archive this one."),
            )
        return data

    def _answered(self) -> bool:
        return Answer.objects.filter(
            criterion_id=self.instance.criterion_id, value=self.instance.value
        ).exists()


class BaseOptionFormSet(BaseInlineFormSet):
    kind: str = ""

    def clean(self) -> None:
        if any(self.errors):
            return
        kept = [
            f
            for f in self.forms
            if f.cleaned_data.get("label") and not f.cleaned_data.get("DELETE")
        ]
        values: dict[str, forms.Form] = {}
        for form in kept:
            value = form.cleaned_data["value"]
            if value in values:
                # Said on the row, before Django's formset-wide "duplicate data" message.
                form.add_error(
                    "value", _("Two options share the value “%(value)s”.") % {"value": value}
                )
                return
            values[value] = form
        super().clean()
        live = [f for f in kept if not f.cleaned_data.get("archived")]
        if self.kind == Criterion.Kind.CHOICE and len(live) < 2:
            raise ValidationError(_("A choice needs at least two options to choose from."))


# The stubs type a factory's formset as the base class, not the `formset=` one it is.
OptionFormSet = cast(
    type[BaseOptionFormSet],
    inlineformset_factory(
        Criterion,
        CriterionOption,
        form=OptionForm,
        formset=BaseOptionFormSet,
        extra=3,
        can_delete=True,
    ),
)


class ReasonForm(SlugFromForm):
    class Meta:
        fields = ["name", "slug", "order", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["order"].required = False
        self.fields["order"].help_text = _("Left empty, a new reason goes last.")


class JunkReasonForm(ReasonForm):
    class Meta(ReasonForm.Meta):
        model = JunkReason


class LossReasonForm(ReasonForm):
    class Meta(ReasonForm.Meta):
        model = LossReason


class SourceForm(SlugFromForm):
    field_map = forms.CharField(
        label=_("Field mapping"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=_('Overrides, our field to theirs, e.g. {"message": "Comments"}. Our fields: %s')
        % ", ".join(INTAKE_FIELDS),
    )

    class Meta:
        model = LeadSource
        fields = [
            "name",
            "slug",
            "channel",
            "team",
            "active",
            "preset",
            "field_map",
            "honeypot_field",
            "allowed_origins",
            "rate_limit_per_minute",
        ]
        widgets = {"allowed_origins": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, teams: Any, team_required: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = teams
        self.fields["team"].required = team_required
        if not self.is_bound:
            self.initial["field_map"] = (
                json.dumps(self.instance.field_map, ensure_ascii=False)
                if self.instance.field_map
                else ""
            )

    def clean_field_map(self) -> dict[str, str]:
        text = (self.cleaned_data.get("field_map") or "").strip()
        if not text:
            return {}
        try:
            mapping = json_input.loads(text)  # nested too deep is no mapping either
        except ValueError:
            raise ValidationError(
                _('Not valid JSON: write it as {"message": "Comments"}.')
            ) from None
        if json_input.lone_surrogate_at(mapping) is not None:
            raise ValidationError(_("The text holds an invalid character (a lone surrogate)."))
        if not isinstance(mapping, dict) or not all(
            isinstance(v, str) and v.strip() for v in mapping.values()
        ):
            raise ValidationError(_("Each of our fields maps to the name of one of theirs."))
        unknown = sorted(set(mapping) - set(INTAKE_FIELDS))
        if unknown:
            raise ValidationError(
                _("Not our fields: %(names)s. Ours are: %(ours)s.")
                % {"names": ", ".join(unknown), "ours": ", ".join(INTAKE_FIELDS)}
            )
        return {k: v.strip() for k, v in mapping.items()}


class TeamForm(forms.ModelForm):
    """A qualification team's clock; a sales team's acceptance and dispute windows."""

    QUALIFICATION_FIELDS = [
        "sla_warn_minutes",
        "sla_breach_minutes",
        "claim_timeout_minutes",
        "retry_after_minutes",
        "surname_required",
        "call_norm_seconds",
        "call_norm_per_day",
    ]
    SALES_FIELDS = ["acceptance_hours", "dispute_window_days"]

    class Meta:
        model = Team
        fields = [
            "time_zone",
            "sla_warn_minutes",
            "sla_breach_minutes",
            "claim_timeout_minutes",
            "retry_after_minutes",
            "surname_required",
            "call_norm_seconds",
            "call_norm_per_day",
            "acceptance_hours",
            "dispute_window_days",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kept = (
            self.QUALIFICATION_FIELDS
            if self.instance.kind == Team.Kind.QUALIFICATION
            else self.SALES_FIELDS
        )
        for name in [*self.QUALIFICATION_FIELDS, *self.SALES_FIELDS]:
            if name not in kept:
                del self.fields[name]  # a field not on the form is left as it is
        for name in ("sla_warn_minutes", "sla_breach_minutes", "claim_timeout_minutes"):
            if name in self.fields:
                self.fields[name].widget.attrs["min"] = 1
                self.fields[name].validators.append(_at_least_one)

    def clean(self) -> dict:
        data = cast(dict[str, Any], super().clean())  # a ModelForm's: its cleaned_data
        warn, breach = data.get("sla_warn_minutes"), data.get("sla_breach_minutes")
        if warn is not None and breach is not None and warn >= breach:
            self.add_error(
                "sla_warn_minutes",
                _("The warning must come before the breach: make it less than %(breach)s.")
                % {"breach": breach},
            )
        return data

    def _post_clean(self) -> None:
        # Django's own hook after clean (ModelForm validates the instance there): not in the stubs.
        super()._post_clean()  # type: ignore[misc]
        # Team.clean says the same about the SLA, less precisely: show ours alone.
        if len(self.errors.get("sla_warn_minutes", [])) > 1:
            del self.errors["sla_warn_minutes"][1:]


def _at_least_one(value: int) -> None:
    if value < 1:
        raise ValidationError(_("At least 1 minute."))


class WorkingHoursForm(forms.ModelForm):
    class Meta:
        model = WorkingHours
        fields = ["weekday", "opens", "closes"]
        widgets = {
            "opens": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "closes": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }


class BaseHoursFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        by_day: dict[int, list[tuple[Any, Any, forms.Form]]] = {}
        for form in self.forms:
            data = form.cleaned_data
            if not data or data.get("DELETE") or data.get("weekday") is None:
                continue
            closes = data["closes"]
            end = (24, 0) if closes.hour == closes.minute == 0 else (closes.hour, closes.minute)
            start = (data["opens"].hour, data["opens"].minute)
            by_day.setdefault(data["weekday"], []).append((start, end, form))
        for intervals in by_day.values():
            intervals.sort(key=lambda i: i[0])
            for (_s1, end1, _f1), (start2, _e2, form2) in itertools.pairwise(intervals):
                if start2 < end1:
                    form2.add_error("opens", _("Overlaps another interval of the same day."))


WorkingHoursFormSet = cast(
    type[BaseHoursFormSet],
    inlineformset_factory(
        Team,
        WorkingHours,
        form=WorkingHoursForm,
        formset=BaseHoursFormSet,
        extra=2,
        can_delete=True,
    ),
)
