"""A call's recording, played in the browser: served by the app (never a storage address) to
whoever may see the call's lead or the deal it became, with byte ranges so the player seeks."""

import re
from collections.abc import Iterator
from typing import IO

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from crm.lib.http import AuthedRequest
from crm.teams.models import Team
from crm.teams.selectors import teams_for_user
from leads.models import Lead
from leads.selectors import leads_visible_to
from telephony.models import Call, recordings_storage
from telephony.recordings import content_type, file_suffix

CHUNK = 64 * 1024
# One range: "bytes=first-last", "bytes=first-" or "bytes=-suffix_length".
RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class Unsatisfiable(ValueError):
    """A Range header we cannot answer: a 416."""


def call_get_for_listener(user: User, pk: int) -> Call:
    """A call with a kept recording whose lead the user sees (the qualifiers and heads of its
    team), or whose lead became a deal of a sales team the user sees (the closers and the sales
    head). Anything else is a 404, as for the lead itself."""
    call = Call.objects.exclude(recording="").filter(pk=pk).first()
    if call is None or call.lead_id is None:
        raise Http404
    if leads_visible_to(user).filter(pk=call.lead_id).exists():
        return call
    # Deals sit above telephony (.importlinter): the lead's deal is reached through the ORM's
    # reverse relation (Lead.deal), not by importing deals.
    sales = teams_for_user(user).filter(kind=Team.Kind.SALES)
    if Lead.objects.filter(pk=call.lead_id, deal__team__in=sales).exists():
        return call
    raise Http404


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The first and last byte asked for, None for the whole file."""
    if not header:
        return None
    found = RANGE.fullmatch(header.strip())
    if found is None or not (found[1] or found[2]):
        raise Unsatisfiable(header)  # another unit, several ranges, or nonsense
    if found[1]:
        first = int(found[1])
        last = min(int(found[2]), size - 1) if found[2] else size - 1
        if first >= size or last < first:
            raise Unsatisfiable(header)
        return first, last
    suffix = int(found[2])
    if suffix == 0 or size == 0:
        raise Unsatisfiable(header)
    return max(0, size - suffix), size - 1


class _Slice:
    """Bytes first..last of an open file; closed with the response."""

    def __init__(self, file: IO[bytes], first: int, last: int) -> None:
        self.file, self.first, self.left = file, first, last - first + 1

    def __iter__(self) -> Iterator[bytes]:
        self.file.seek(self.first)
        while self.left > 0:
            chunk = self.file.read(min(CHUNK, self.left))
            if not chunk:
                return
            self.left -= len(chunk)
            yield chunk

    def close(self) -> None:
        self.file.close()


@login_required
@require_GET
def recording(request: AuthedRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    call = call_get_for_listener(request.user, pk)
    storage = recordings_storage()
    size = storage.size(call.recording)
    try:
        asked = byte_range(request.headers.get("Range", ""), size)
    except Unsatisfiable:
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        refused["Cache-Control"] = "no-store"
        return refused
    first, last = asked or (0, size - 1)
    response = StreamingHttpResponse(
        _Slice(storage.open(call.recording, "rb"), first, last),
        status=206 if asked else 200,
        content_type=content_type(call.recording),
    )
    if asked:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Content-Length"] = str(last - first + 1)
    response["Accept-Ranges"] = "bytes"
    # Evidence about a customer: kept by no cache, the browser's included.
    response["Cache-Control"] = "no-store"
    response["Content-Disposition"] = (
        f'inline; filename="call-{call.pk}{file_suffix(call.recording)}"'
    )
    return response
