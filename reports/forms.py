from datetime import date, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reports.periods import DEFAULT_DAYS, Period

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MAX_DAYS = 400
# The years a report can cover (and the lead filters accept, crm/api.py). Outside them a
# period's day arithmetic would leave the calendar (0001-01-01 minus 29 days) or the dates
# SQLite can convert.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)


def _within_years(day: date | None) -> date | None:
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        raise forms.ValidationError(_("Enter a date between the years 2000 and 2100."))
    return day


class PeriodForm(forms.Form):
    """The report's period, in whole days; the last 30 days by default."""

    date_from = forms.DateField(label=_("From"), required=False, widget=DATE)
    date_to = forms.DateField(label=_("To"), required=False, widget=DATE)

    def clean_date_from(self) -> date | None:
        return _within_years(self.cleaned_data["date_from"])

    def clean_date_to(self) -> date | None:
        return _within_years(self.cleaned_data["date_to"])

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if self.errors:  # a field's own error says it all; the defaults need both fields
            return data
        today = timezone.localdate()
        data["date_to"] = data.get("date_to") or today
        default_from = data["date_to"] - timedelta(days=DEFAULT_DAYS - 1)
        data["date_from"] = data.get("date_from") or default_from
        if data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The period must start before it ends."))
        if (data["date_to"] - data["date_from"]).days >= MAX_DAYS:
            raise forms.ValidationError(
                _("Choose a period of at most %(days)d days.") % {"days": MAX_DAYS}
            )
        return data

    def period(self, zone) -> Period:
        return Period(self.cleaned_data["date_from"], self.cleaned_data["date_to"], zone)

    @classmethod
    def showing(cls, period: Period) -> "PeriodForm":
        """A form filled with the days a page covers (the defaults made visible)."""
        form = cls({"date_from": period.first_day, "date_to": period.last_day})
        form.is_valid()
        return form

    @classmethod
    def from_query(cls, query) -> "PeriodForm":
        """Accepts ?from=&to= (the API's names) as well as the form's own."""
        data = {
            "date_from": query.get("date_from") or query.get("from", ""),
            "date_to": query.get("date_to") or query.get("to", ""),
        }
        return cls(data)


class QualifierDaysForm(PeriodForm):
    """The call report's "By day" of one qualifier, read when opened: the page's period, the
    team and the person."""

    team = forms.IntegerField(label=_("Team"), min_value=1)
    qualifier = forms.IntegerField(label=_("Qualifier"), min_value=1)

    @classmethod
    def from_query(cls, query) -> "QualifierDaysForm":
        dates = PeriodForm.from_query(query).data
        return cls(
            {**dates, "team": query.get("team", ""), "qualifier": query.get("qualifier", "")}
        )
