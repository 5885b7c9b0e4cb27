import csv
import io

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from crm import replica
from crm.lib.http import AuthedApiRequest
from crm.lib.spreadsheets import spreadsheet_safe
from reports import calls, calls_display, exports
from reports.forms import PeriodForm
from reports.selectors import report_teams


class CsvRenderer(BaseRenderer):
    """?format=csv: the report's rows, the same as the page's CSV."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";")
        if isinstance(data, dict) and "teams" in data:
            writer.writerows(spreadsheet_safe(row) for row in exports.rows(data["teams"]))
        else:
            writer.writerow(["detail", data])
        return ("\ufeff" + buffer.getvalue()).encode()


class TeamReportView(APIView):
    request: AuthedApiRequest
    renderer_classes = [JSONRenderer, CsvRenderer]

    def handle_exception(self, exc: Exception) -> Response:
        """Errors are JSON, as everywhere in the API, even when the CSV was asked for: a
        script that asked for the file gets a readable reason, not a one-cell spreadsheet."""
        response = super().handle_exception(exc)
        if isinstance(getattr(self.request, "accepted_renderer", None), CsvRenderer):
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSONRenderer.media_type
        return response

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "from", str, description="First day, YYYY-MM-DD (default: 30 days ago)"
            ),
            OpenApiParameter("to", str, description="Last day, included (default: today)"),
        ],
    )
    @replica.reporting  # after authentication: the token and the user are the primary's
    def get(self, request: AuthedApiRequest) -> Response:
        teams = report_teams(request.user)
        if not teams:
            raise PermissionDenied
        form = PeriodForm.from_query(request.query_params)
        if not form.is_valid():
            raise ValidationError({f: [str(m) for m in e] for f, e in form.errors.items()})
        period = form.period(None)
        return Response(
            {
                "from": period.first_day,
                "to": period.last_day,
                "previous": {"from": period.previous().first_day, "to": period.previous().last_day},
                "teams": exports.team_report(teams, period),
            }
        )


# The call metrics (issue 17.5): GET /api/v1/reports/calls/?from=&to=[&format=csv].


class CallFiguresSerializer(serializers.Serializer):
    calls_made = serializers.IntegerField()
    calls_received = serializers.IntegerField(allow_null=True, help_text="null: typed attempts")
    calls_missed = serializers.IntegerField(allow_null=True, help_text="null: typed attempts")
    reached = serializers.IntegerField()
    reached_long = serializers.IntegerField(help_text="reached, talk ≥ norm_seconds")
    talk_s = serializers.IntegerField(help_text="talk seconds of the reached calls")
    talk_s_average = serializers.FloatField(allow_null=True, help_text="talk_s / reached")
    decided = serializers.IntegerField(help_text="leads converted or junked in the period")
    calls_per_decision = serializers.FloatField(allow_null=True)
    first_calls = serializers.IntegerField()
    first_calls_within_sla = serializers.IntegerField()
    first_calls_within_sla_share = serializers.FloatField(allow_null=True, help_text="percent")
    working_days = serializers.IntegerField(help_text="a team: its qualifiers' working days")
    days_norm_met = serializers.IntegerField()


class CallDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    reached_long = serializers.IntegerField()
    working = serializers.BooleanField()
    met = serializers.BooleanField()


class CallQualifierSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    figures = CallFiguresSerializer()
    days = CallDaySerializer(many=True)


class CallTeamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    source_ = serializers.ChoiceField(choices=calls.SOURCE_CHOICES)
    time_zone = serializers.CharField()
    norm_seconds = serializers.IntegerField()
    norm_per_day = serializers.IntegerField()
    sla_minutes = serializers.IntegerField()
    figures = CallFiguresSerializer()
    qualifiers = CallQualifierSerializer(many=True)

    def get_fields(self) -> dict:
        return _without_underscore(super().get_fields(), "source_")


class CallReportSerializer(serializers.Serializer):
    from_ = serializers.DateField()
    to = serializers.DateField()
    teams = CallTeamSerializer(many=True)

    def get_fields(self) -> dict:
        return _without_underscore(super().get_fields(), "from_")


def _without_underscore(fields: dict, name: str) -> dict:
    """A field named as Python cannot name an attribute here (a keyword, or a Field's own
    attribute): declared with a trailing underscore, served without it, in the same place."""
    return {(key.rstrip("_") if key == name else key): field for key, field in fields.items()}


class CallsCsvRenderer(CsvRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if not (isinstance(data, dict) and "teams" in data):
            return super().render(data, accepted_media_type, renderer_context)
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";")
        writer.writerows(spreadsheet_safe(row) for row in calls_display.rows(data["teams"]))
        return ("\ufeff" + buffer.getvalue()).encode()


class CallReportView(TeamReportView):
    """Call metrics per qualification team and qualifier; the page's numbers."""

    renderer_classes = [JSONRenderer, CallsCsvRenderer]

    @extend_schema(
        responses={200: CallReportSerializer},
        parameters=[
            OpenApiParameter(
                "from", str, description="First day, YYYY-MM-DD (default: 30 days ago)"
            ),
            OpenApiParameter("to", str, description="Last day, included (default: today)"),
        ],
    )
    @replica.reporting
    def get(self, request: AuthedApiRequest) -> Response:
        teams = report_teams(request.user)
        if not teams:
            raise PermissionDenied
        form = PeriodForm.from_query(request.query_params)
        if not form.is_valid():
            raise ValidationError({f: [str(m) for m in e] for f, e in form.errors.items()})
        period = form.period(None)
        report = calls.call_report(teams, period, timezone.now())
        data = {"from": period.first_day, "to": period.last_day, "teams": report}
        if isinstance(request.accepted_renderer, CallsCsvRenderer):
            return Response(data)  # the rows are written from the figures as they are
        return Response(call_report_json(data))


# Each figure the API gives, in its order, and whether it is a float (else a count).
_FIGURES = [
    (name, isinstance(field, serializers.FloatField))
    for name, field in CallFiguresSerializer().get_fields().items()
]


def call_report_json(data: dict) -> dict:
    """What CallReportSerializer(data).data gives — the schema the docs publish — written
    directly: the serializer's fields took ~400 ms over a quarter of all teams (~8,000
    qualifier-days of four fields each); tests/reports/test_calls.py holds the two equal."""

    def figures(values: dict) -> dict:
        return {
            name: None if values[name] is None else (float if real else int)(values[name])
            for name, real in _FIGURES
        }

    def day(d: dict) -> dict:
        return {
            "date": d["date"].isoformat(),
            "reached_long": int(d["reached_long"]),
            "working": bool(d["working"]),
            "met": bool(d["met"]),
        }

    def qualifier(q: dict) -> dict:
        return {
            "id": q["id"],
            "username": str(q["username"]),
            "name": str(q["name"]),
            "figures": figures(q["figures"]),
            "days": [day(d) for d in q["days"]],
        }

    def team(t: dict) -> dict:
        head = ("id", "name", "source", "time_zone", "norm_seconds", "norm_per_day", "sla_minutes")
        return {
            **{key: t[key] for key in head},
            "figures": figures(t["figures"]),
            "qualifiers": [qualifier(q) for q in t["qualifiers"]],
        }

    return {
        "from": data["from"].isoformat(),
        "to": data["to"].isoformat(),
        "teams": [team(t) for t in data["teams"]],
    }
