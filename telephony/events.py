"""What every PBX adapter turns its vendor's request into: one fact about one call."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class BadEvent(ValueError):
    """A request that is no event of its PBX (missing or unreadable fields): a 400."""


class BadSignature(ValueError):
    """A request not signed with the connection's secret: a 403."""


class Kind(StrEnum):
    RINGING = "ringing"  # the call appeared (a number dialled, an extension ringing)
    ANSWERED = "answered"  # the customer and one of ours are talking
    HUNG_UP = "hung_up"  # the call is over; the final facts follow in ENDED
    ENDED = "ended"  # the call's final facts: talk seconds and outcome
    RECORDING = "recording"  # the call's recording is ready at the PBX


@dataclass(frozen=True)
class CallEvent:
    call_id: str
    kind: Kind
    at: datetime  # when this happened (for ENDED: when the call ended)
    direction: str = ""  # Call.Direction, "" when this event does not tell
    customer: str = ""  # the customer's number as the PBX sent it
    line: str = ""  # our number the customer dialled or is called from
    extension: str = ""  # the qualifier's extension
    talk_s: int = 0  # ENDED only
    outcome: str = ""  # ENDED only: ContactAttempt.Outcome (reached, no_answer, busy)
    recording_id: str = ""  # RECORDING (or ENDED, when the PBX says it there)
    recording_url: str = ""  # generic PBX only: where the recording is fetched from
    started_at: datetime | None = None  # the call's start, when the event carries it

    @property
    def call_started(self) -> datetime:
        return self.started_at or self.at
