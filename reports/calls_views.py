"""The call metrics page (`/reports/calls/`): the team report's period, each qualification
team's call figures per qualifier, and each qualifier's reached calls per day against the norm."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from crm import access, replica
from crm.access import page_for
from reports import calls, calls_display
from reports.selectors import report_teams
from reports.views import _api_query, _human_csv, _period


@page_for(access.heads_teams)
@replica.reporting
def calls_page(request: HttpRequest) -> HttpResponse:
    form, period = _period(request)
    report = calls.call_report(report_teams(request.user), period, timezone.now()) if period else []
    if period and request.GET.get("format") == "csv":
        return _human_csv(
            calls_display.human_rows(report),
            f"call-report-{period.first_day}-{period.last_day}.csv",
        )
    for team in report:
        team["table"] = calls_display.table(team)
        team["source_label"] = calls_display.source_label(team)
        for qualifier in team["qualifiers"]:
            qualifier["chart"] = calls_display.chart(qualifier, team["norm_per_day"])
    api = f"{reverse('api:call-report')}?{_api_query(period)}&format=csv" if period else ""
    context = {"form": form, "period": period, "report": report, "api_csv": api}
    return render(request, "reports/calls.html", context, status=200 if period else 400)
