"""What the API shares across apps: turning the services' errors into HTTP answers."""

from datetime import datetime
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django_filters.fields import IsoDateTimeField
from django_filters.filters import IsoDateTimeFilter
from rest_framework import parsers, serializers, status
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from crm.lib import json_input
from crm.lib.errors import Blocked, Conflict


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser under the intake's rule (crm/lib/json_input.py): a body nested too
    deep is a 400 (it was a RecursionError, a 500), and a lone surrogate is a 400 naming the
    field (a choice field echoed it into its error, which no UTF-8 answer can hold: a 500)."""

    def parse(self, stream, media_type=None, parser_context=None) -> dict[str, Any]:
        too_deep = ParseError(
            _("The JSON is nested more than %(depth)d levels deep.")
            % {"depth": json_input.MAX_DEPTH}
        )
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:  # deeper than the parser's own stack
            raise too_deep from None
        if json_input.too_deep(data):
            raise too_deep
        where = json_input.lone_surrogate_at(data)
        if where is not None:
            message = _("The text holds an invalid character (a lone surrogate).")
            raise serializers.ValidationError({where or "non_field_errors": [message]})
        return data


def exception_handler(error: Exception, context: dict) -> Response | None:
    """The API's answer to crm/lib/errors.py: a conflict or an illegal transition is 409; a
    broken rule on the input is 400; NotAllowed (a PermissionDenied) is DRF's 403."""
    if isinstance(error, Blocked):
        return Response(
            {"detail": str(error), "reasons": error.reasons}, status=status.HTTP_409_CONFLICT
        )
    if isinstance(error, Conflict):
        return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
    if isinstance(error, DjangoValidationError):
        body = error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(error, context)


class NewestFirst(CursorPagination):
    """Lists page by cursor, never by offset or a count of the whole table."""

    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"

    def decode_cursor(self, request: Request) -> Cursor | None:
        # A cursor is opaque but arrives from outside: its position must be a moment with a
        # time zone, as the ones we issue are, or it is refused like any broken cursor.
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            moment = parse_datetime(str(cursor.position))
            if moment is None or moment.tzinfo is None or not 2000 <= moment.year <= 2100:
                raise NotFound(self.invalid_cursor_message)
        return cursor


class SaneDateField(IsoDateTimeField):
    """An ISO date-time within the years this product can hold (and SQLite can convert)."""

    def clean(self, value: object) -> datetime | None:
        moment = super().clean(value)
        if moment is not None and not 2000 <= moment.year <= 2100:
            raise DjangoValidationError(_("Enter a date between the years 2000 and 2100."))
        return moment


class SaneDateTimeFilter(IsoDateTimeFilter):
    field_class = SaneDateField


class IdOrSlugField(serializers.SlugRelatedField):
    """A reference-list item given by its slug or its id (lists serve both)."""

    def to_internal_value(self, data: object) -> object:
        queryset = self.get_queryset()
        if queryset is not None and (
            # isascii: "²" is a digit to str.isdigit() but no number to int()
            isinstance(data, int) or (isinstance(data, str) and data.isascii() and data.isdigit())
        ):
            try:
                return queryset.get(pk=int(data))
            except ObjectDoesNotExist:
                self.fail("does_not_exist", slug_name="id", value=data)
        return super().to_internal_value(data)
