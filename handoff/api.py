from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from crm.teams.models import Team
from handoff.services import lead_convert
from leads.api import LeadSerializer
from leads.selectors import lead_get_for_user


class ConvertInputSerializer(serializers.Serializer):
    sales_team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.filter(kind=Team.Kind.SALES), required=False,
        help_text="Needed only when the lead's team hands off to several sales teams.",
    )
    closer = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), required=False,
        help_text="A closer of the sales team to give the deal to.",
    )


@extend_schema(request=ConvertInputSerializer, responses={200: LeadSerializer})
@api_view(["POST"])
def convert(request: Request, pk: int) -> Response:
    lead = lead_get_for_user(request.user, pk)
    data = ConvertInputSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    lead_convert(lead=lead, by=request.user, **data.validated_data)
    lead.refresh_from_db()
    return Response(LeadSerializer(lead).data)
