"""Fixtures of the recording tests: where the files are kept, and a PBX that hands them out."""

from collections.abc import Iterator

import pytest

from tests.telephony.fake_pbx import RecordingPbx


@pytest.fixture
def recordings_in_tmp(settings, tmp_path) -> None:
    """Recordings kept in the test's own folder, not in the checkout's media."""
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "recordings"},
        },
    }


@pytest.fixture
def pbx() -> Iterator[RecordingPbx]:
    """A fake PBX whose API gives the recordings kept in it (key-1, secret-1)."""
    fake = RecordingPbx("key-1", "secret-1")
    yield fake
    fake.close()
