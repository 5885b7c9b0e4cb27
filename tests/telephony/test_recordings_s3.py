"""Recordings kept in an S3-compatible bucket (RECORDINGS_STORAGE=s3, django-storages), against
moto's S3 server over HTTP: fetched into the bucket, played in ranges, swept."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from telephony import recordings
from telephony.models import Call, PbxConnection, recordings_storage
from tests.factories import make_lead
from tests.telephony.fake_pbx import make_wav

boto3 = pytest.importorskip("boto3")
pytest.importorskip("storages")
moto_server = pytest.importorskip("moto.server")

pytestmark = pytest.mark.django_db
WAV = make_wav(1.0)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _host, port = server.get_host_and_port()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def _recordings_in_a_bucket(settings, s3_endpoint):
    keys = {"aws_access_key_id": "minio", "aws_secret_access_key": "minio-secret"}
    bucket = f"recordings-{timezone.now().timestamp():.0f}".replace(".", "")
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **keys).create_bucket(
        Bucket=bucket
    )
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": s3_endpoint,
                "region_name": "us-east-1",
                "access_key": keys["aws_access_key_id"],
                "secret_key": keys["aws_secret_access_key"],
                "default_acl": "private",
                "file_overwrite": False,
            },
        },
    }


def test_a_recording_is_kept_in_the_bucket_played_in_ranges_and_swept(client, world, pbx, settings):
    lead = make_lead(world.team)
    connection = PbxConnection.objects.create(
        team=world.team,
        provider="mango",
        api_key="key-1",
        api_secret="secret-1",
        api_url=pbx.api_url,
    )
    pbx.keep("r-1", WAV)
    call = Call.objects.create(
        connection=connection,
        pbx_call_id="E1",
        direction="out",
        state="ended",
        started_at=timezone.now(),
        lead=lead,
        recording_id="r-1",
    )
    fetched = timezone.now() - timedelta(days=settings.RECORDING_KEEP_DAYS, hours=1)

    assert recordings.recording_fetch(call.pk, now=fetched)
    call.refresh_from_db()
    assert recordings_storage().size(call.recording) == len(WAV)

    client.force_login(world.qualifier)
    url = reverse("telephony:recording", args=[call.pk])
    middle = client.get(url, headers={"Range": "bytes=1000-1999"})
    assert middle.status_code == 206
    assert b"".join(middle.streaming_content) == WAV[1000:2000]
    suffix = client.get(url, headers={"Range": "bytes=-10"})
    assert b"".join(suffix.streaming_content) == WAV[-10:]

    assert recordings.recordings_sweep(now=timezone.now()) == 1
    assert not recordings_storage().exists(call.recording)
