"""Recordings as evidence: announced by each PBX's event, fetched from the fake PBX's API over
HTTP in its vendor's shape, kept in the storage, and swept after the retention period."""

import http.server
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from telephony import recordings, tasks
from telephony.models import Call, PbxConnection, recordings_storage
from tests.telephony.fake_pbx import FakePbx, RecordingPbx, make_wav

pytestmark = pytest.mark.usefixtures("recordings_in_tmp")
WAV = make_wav(1.0)


def _connection(world, pbx: RecordingPbx, provider: str) -> PbxConnection:
    return PbxConnection.objects.create(
        team=world.team,
        provider=provider,
        api_key="key-1",
        api_secret="secret-1",
        api_url=pbx.api_url,
    )


def _call(connection: PbxConnection, **fields) -> Call:
    return Call.objects.create(
        connection=connection,
        pbx_call_id=fields.pop("pbx_call_id", "call-1"),
        direction=Call.Direction.OUTBOUND,
        state=Call.State.ENDED,
        started_at=timezone.now(),
        **fields,
    )


def _kept(call: Call) -> bytes:
    call.refresh_from_db()
    with recordings_storage().open(call.recording) as file:
        return file.read()


@pytest.mark.django_db(transaction=True)
def test_mango_announces_a_completed_recording_and_it_is_fetched(world, live_server, pbx):
    connection = _connection(world, pbx, PbxConnection.Provider.MANGO)
    pbx.keep("MToxMDA1", WAV)
    events = FakePbx(live_server.url, connection.url_key, "key-1", "secret-1")
    at = int(timezone.now().timestamp())
    recording = {"entry_id": "E1", "recording_id": "MToxMDA1", "timestamp": at}
    events.mango("recording", {**recording, "recording_state": "Started"})
    assert not Call.objects.exists()  # not complete yet: nothing to fetch

    assert events.mango("recording", {**recording, "recording_state": "Completed"}).status == 200

    call = Call.objects.get()
    assert recordings.recording_fetch(call.pk, now=timezone.now())
    assert _kept(call) == WAV
    assert call.recording == f"team-{world.team.pk}/call-{call.pk}.wav"
    assert pbx.requests[0] == "/vpbx/queries/recording/post"
    assert not recordings.recording_fetch(call.pk, now=timezone.now())  # kept once


@pytest.mark.django_db(transaction=True)
def test_zadarma_notify_record_is_fetched_through_its_temporary_link(world, live_server, pbx):
    connection = _connection(world, pbx, PbxConnection.Provider.ZADARMA)
    pbx.keep("1614784421.1234", WAV)
    events = FakePbx(live_server.url, connection.url_key, "key-1", "secret-1")
    record = {"pbx_call_id": "in_1", "call_id_with_rec": "1614784421.1234"}

    assert events.zadarma({"event": "NOTIFY_RECORD", **record}).status == 200

    call = Call.objects.get()
    assert recordings.recording_fetch(call.pk, now=timezone.now())
    assert _kept(call) == WAV
    assert pbx.requests[0].startswith("/vpbx/v1/pbx/record/request/?call_id=1614784421.1234")


@pytest.mark.django_db(transaction=True)
def test_a_generic_pbx_gives_its_recording_url_and_is_asked_with_its_secret(
    world, live_server, pbx
):
    pbx.bearer = "secret-1"  # the file is handed out only with the connection's secret
    connection = _connection(world, pbx, PbxConnection.Provider.GENERIC)
    url = pbx.keep("rec-9", WAV)
    events = FakePbx(live_server.url, connection.url_key, "key-1", "secret-1")
    event = {"call_id": "c-9", "event": "recording", "at": timezone.now().isoformat()}

    assert events.generic({**event, "recording_url": url}).status == 200

    call = Call.objects.get()
    assert call.recording_url == url
    assert recordings.recording_fetch(call.pk, now=timezone.now())
    assert _kept(call) == WAV


@pytest.mark.django_db(transaction=True)
def test_a_generic_recording_url_must_be_an_address(world, live_server, pbx):
    connection = _connection(world, pbx, PbxConnection.Provider.GENERIC)
    events = FakePbx(live_server.url, connection.url_key, "key-1", "secret-1")
    event = {"call_id": "c-9", "event": "recording", "at": timezone.now().isoformat()}

    answer = events.generic({**event, "recording_url": "not a url"})

    assert answer.status == 400
    assert "recording_url" in answer.json()["error"]


@pytest.mark.django_db
def test_a_pbx_that_is_down_is_tried_again_later_and_then_gives_the_file(world, pbx):
    call = _call(_connection(world, pbx, "mango"), recording_id="r-1")
    pbx.keep("r-1", WAV)
    pbx.down = True

    with pytest.raises(recordings.RecordingUnavailable, match="HTTP 503"):
        recordings.recording_fetch(call.pk, now=timezone.now())
    call.refresh_from_db()
    assert not call.recording

    pbx.down = False
    assert recordings.recording_fetch(call.pk, now=timezone.now())
    assert _kept(call) == WAV


@pytest.mark.django_db
def test_an_unreachable_pbx_is_tried_again(world):
    connection = PbxConnection.objects.create(
        team=world.team,
        provider="mango",
        api_key="k",
        api_secret="s",
        api_url="http://127.0.0.1:9/",
    )
    call = _call(connection, recording_id="r-1")

    with pytest.raises(recordings.RecordingUnavailable, match="cannot be reached"):
        recordings.recording_fetch(call.pk, now=timezone.now())


@pytest.mark.parametrize(
    ("provider", "stored", "why"),
    [
        ("mango", {}, "HTTP 404"),  # the PBX has no such recording
        ("mango", {"r-1": b"<html>error</html>"}, "no audio"),
        ("mango", {"r-1": b""}, "no audio"),
        ("zadarma", {}, "Record not found"),
        ("generic", {}, "HTTP 404"),
    ],
)
@pytest.mark.django_db
def test_an_absent_or_bad_file_is_given_up_and_the_call_stays_as_it_is(
    world, pbx, provider, stored, why
):
    connection = _connection(world, pbx, provider)
    for recording_id, content in stored.items():
        pbx.keep(recording_id, content)
    call = _call(connection, recording_id="r-1", recording_url=f"{pbx.url}/files/r-1.wav")

    with pytest.raises(recordings.BadRecording, match=why):
        recordings.recording_fetch(call.pk, now=timezone.now())

    call.refresh_from_db()
    assert (call.recording, call.recording_fetched_at) == ("", None)
    assert not recordings_storage().exists(f"team-{world.team.pk}")


@pytest.mark.django_db
def test_a_generic_pbx_refuses_a_request_without_the_connections_secret(world, pbx):
    pbx.bearer = "another-secret"
    connection = _connection(world, pbx, "generic")
    call = _call(connection, recording_url=pbx.keep("r-1", WAV))

    with pytest.raises(recordings.BadRecording, match="HTTP 403"):
        recordings.recording_fetch(call.pk, now=timezone.now())


@pytest.mark.django_db
def test_the_task_logs_a_bad_recording_instead_of_failing(world, pbx, caplog):
    call = _call(_connection(world, pbx, "mango"), recording_id="missing")

    tasks.fetch_recording.apply(args=[call.pk]).get()

    assert "recording not kept" in caplog.text
    call.refresh_from_db()
    assert not call.recording


@pytest.mark.django_db
def test_a_file_bigger_than_the_limit_is_refused(world, pbx, settings):
    settings.RECORDING_MAX_BYTES = 1000
    call = _call(_connection(world, pbx, "mango"), recording_id="r-1")
    pbx.keep("r-1", WAV)

    with pytest.raises(recordings.BadRecording, match="RECORDING_MAX_BYTES"):
        recordings.recording_fetch(call.pk, now=timezone.now())


@pytest.mark.django_db
def test_the_sweep_deletes_expired_files_and_the_call_stays_marked(world, pbx, settings):
    settings.RECORDING_KEEP_DAYS = 30
    connection = _connection(world, pbx, "mango")
    now = timezone.now()
    old = _call(connection, pbx_call_id="old", recording_id="r-old")
    fresh = _call(connection, pbx_call_id="fresh", recording_id="r-fresh")
    for call in (old, fresh):
        pbx.keep(call.recording_id, WAV)
    recordings.recording_fetch(old.pk, now=now - timedelta(days=30, hours=1))
    recordings.recording_fetch(fresh.pk, now=now - timedelta(days=29))
    old.refresh_from_db()
    name = old.recording

    assert recordings.recordings_sweep(now=now) == 1
    assert recordings.recordings_sweep(now=now) == 0

    old.refresh_from_db()
    assert (old.recording, old.recording_deleted_at) == ("", now)
    assert recordings.kept_days(old) == 30
    assert not recordings_storage().exists(name)
    assert _kept(fresh) == WAV
    assert not recordings.recording_fetch(old.pk, now=now)  # deleted stays deleted


class _Redirector:
    """A PBX's web server that sends the file elsewhere: /other-host → the same server named
    "localhost" (another host to the client), /ftp → an ftp address; /file serves the WAV and
    notes the Authorization it was sent."""

    def __init__(self) -> None:
        self.authorization: list[str | None] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                port = self.server.server_address[1]
                if self.path in ("/other-host", "/ftp"):
                    self.send_response(302)
                    where = (
                        f"http://localhost:{port}/file"
                        if self.path == "/other-host"
                        else "ftp://127.0.0.1/file"
                    )
                    self.send_header("Location", where)
                    self.end_headers()
                    return
                owner.authorization.append(self.headers.get("Authorization"))
                self.send_response(200)
                self.send_header("Content-Length", str(len(WAV)))
                self.end_headers()
                self.wfile.write(WAV)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def redirector():
    server = _Redirector()
    yield server
    server.close()


@pytest.mark.django_db
def test_a_redirect_to_another_host_is_followed_without_the_connections_secret(
    world, pbx, redirector
):
    call = _call(_connection(world, pbx, "generic"), recording_url=f"{redirector.url}/other-host")

    recordings.recording_fetch(call.pk, now=timezone.now())

    assert _kept(call) == WAV
    assert redirector.authorization == [None]  # the secret stayed with the PBX's own host


@pytest.mark.django_db
def test_a_redirect_to_anything_but_http_is_refused(world, pbx, redirector):
    call = _call(_connection(world, pbx, "generic"), recording_url=f"{redirector.url}/ftp")

    with pytest.raises(recordings.BadRecording, match="HTTP 302"):
        recordings.recording_fetch(call.pk, now=timezone.now())
    call.refresh_from_db()
    assert not call.recording
