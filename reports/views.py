import csv
import io
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import urlencode

from crm import access, replica
from crm.access import page_for
from crm.lib.http import AuthedRequest
from crm.lib.spreadsheets import spreadsheet_safe
from crm.teams.selectors import teams_for_user
from reports import exports, people, presentation, today
from reports.forms import PeriodForm
from reports.periods import Period
from reports.selectors import report_teams


def _period(request: HttpRequest) -> tuple[PeriodForm, Period | None]:
    """The period asked for (the last 30 days by default), and the form showing it: From and
    To filled with the days the page covers, not left empty."""
    form = PeriodForm.from_query(request.GET)
    if not form.is_valid():
        return form, None
    period = form.period(timezone.get_current_timezone())
    return PeriodForm.showing(period), period


@page_for(access.heads_teams)
@replica.reporting
def teams(request: HttpRequest) -> HttpResponse:
    """The team report: qualification and sales teams side by side, against the previous
    period; ?format=csv downloads the same numbers."""
    visible = report_teams(request.user)
    form, period = _period(request)
    report = exports.team_report(visible, period) if period else []
    if period and request.GET.get("format") == "csv":
        return _human_csv(
            presentation.human_rows(report),
            f"team-report-{period.first_day}-{period.last_day}.csv",
        )
    for team in report:
        team["table"], team["charts"] = presentation.table(team), presentation.charts(team)
        team["kind_label"] = presentation.KINDS[team["kind"]]
    return render(
        request,
        "reports/teams.html",
        {
            "form": form,
            "period": period,
            "report": report,
            "today_as_of": today.oldest([team["today_as_of"] for team in report]),
            "members": _person_links(request, visible),
            "api_csv": f"{reverse('api:team-report')}?{_api_query(period)}&format=csv"
            if period
            else "",
        },
        status=200 if period else 400,
    )


def _person_links(request: HttpRequest, teams: list) -> list[tuple[str, str]]:
    """(the person report for the same period, the name) of everyone in the teams: written
    here, not by `{% url %}` per person in the template (a tenth of the page with 100 people)."""
    query = request.GET.urlencode()
    people = (
        get_user_model()
        .objects.filter(teams__in=teams)
        .distinct()
        .order_by("last_name", "first_name", "username")
    )
    return [
        (f"{reverse('reports:person', args=[p.pk])}?{query}", p.get_full_name() or p.username)
        for p in people
    ]


@login_required
@replica.reporting
def person(request: AuthedRequest, pk: int) -> HttpResponse:
    visible = report_teams(request.user)
    user = get_user_model().objects.filter(pk=pk, teams__in=visible).distinct().first()
    if user is None:
        raise Http404
    form, period = _period(request)
    context: dict[str, Any] = {"form": form, "period": period, "person": user}
    if period:
        now = people.person_figures(user, period)
        before = people.person_figures(user, period.previous())
        context["qualifier"] = presentation.person_table(now, before, "qualifier")
        context["closer"] = presentation.person_table(now, before, "closer")
    return render(request, "reports/person.html", context, status=200 if period else 400)


@login_required
@replica.reporting
def leaderboard(request: AuthedRequest) -> HttpResponse:
    """What every team member sees: points for the actions that make sales."""
    team_ids = list(teams_for_user(request.user).values_list("pk", flat=True))
    form, period = _period(request)
    board = people.leaderboard(team_ids, period) if period else None
    context = {"form": form, "board": board, "today_as_of": board and board["today_as_of"]}
    return render(request, "reports/leaderboard.html", context)


@page_for(access.heads_teams)
@replica.reporting
def insights(request: HttpRequest) -> HttpResponse:
    """Which answers predict a sale, and which sources bring junk or disputes."""
    visible = report_teams(request.user)
    team_ids = [t.pk for t in visible]
    form, period = _period(request)
    context: dict[str, Any] = {"form": form}
    if period:
        context.update(people.insights(team_ids, period))
    return render(request, "reports/insights.html", context)


def _api_query(period: Period) -> str:
    return urlencode({"from": period.first_day.isoformat(), "to": period.last_day.isoformat()})


def _human_csv(rows, filename: str) -> HttpResponse:
    """A spreadsheet as the reader's Excel opens it: where the language writes a decimal
    comma (Russian), Excel expects `;` between fields; elsewhere `,`."""
    delimiter = ";" if formats.get_format("DECIMAL_SEPARATOR") == "," else ","
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(spreadsheet_safe(row) for row in rows)
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
