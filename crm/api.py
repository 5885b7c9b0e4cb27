"""What the API shares across apps: turning the services' errors into HTTP answers."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from leads.services import LeadConflict, TransitionBlocked


def exception_handler(error: Exception, context: dict) -> Response | None:
    """A conflict or an illegal transition is 409; a broken rule on the input is 400."""
    if isinstance(error, LeadConflict):
        return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
    if isinstance(error, TransitionBlocked):
        return Response(
            {"detail": str(error), "reasons": error.reasons}, status=status.HTTP_409_CONFLICT
        )
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
