"""The call metrics page (`/reports/calls/`): the team report's period, each qualification
team's call figures per qualifier, and each qualifier's reached calls per day against the norm;
a qualifier's by-day table is read when the head opens it (`calls_days`)."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from crm import access, replica
from crm.access import page_for
from crm.lib.http import AuthedRequest
from reports import calls, calls_display
from reports.forms import QualifierDaysForm
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
    query = _api_query(period) if period else ""
    days_url = f"{reverse('reports:calls_days')}?{query}"
    titles, words = calls_display.day_titles(report), calls_display.figure_words()
    for team in report:
        team["table"] = calls_display.table(team)
        team["source_label"] = calls_display.source_label(team)
        team["figures_html"] = [
            calls_display.norm_figure(
                q,
                team["norm_per_day"],
                titles,
                f"{days_url}&team={team['id']}&qualifier={q['id']}",
                words,
            )
            for q in team["qualifiers"]
        ]
    api = f"{reverse('api:call-report')}?{query}&format=csv" if period else ""
    context = {"form": form, "period": period, "report": report, "api_csv": api}
    return render(request, "reports/calls.html", context, status=200 if period else 400)


@page_for(access.heads_teams)
@replica.reporting
def calls_days(request: AuthedRequest) -> HttpResponse:
    """One qualifier's by-day table, fetched by the page (htmx) when the head opens "By day":
    a quarter of all teams has ~8,000 qualifier-days, and writing them all made the page
    seconds long. Opened without htmx (a link, no script), the same table as a page."""
    form = QualifierDaysForm.from_query(request.GET)
    if not form.is_valid():
        return render(request, "reports/calls_days.html", {"form": form}, status=400)
    data = form.cleaned_data
    found = calls.qualifier_days(
        report_teams(request.user),
        data["team"],
        data["qualifier"],
        form.period(None),
        timezone.now(),
    )
    if found is None:  # not a team of theirs, or nobody the page lists in it
        raise Http404
    team, qualifier = found
    context = {"team": team, "q": qualifier, "period": form.period(None), "form": form}
    template = "reports/calls_days.html" + ("#days" if request.htmx else "")
    return render(request, template, context)
