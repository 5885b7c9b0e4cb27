"""Fixtures of the recording tests: a PBX that hands them out (where they are kept:
`recordings_in_tmp`, tests/conftest.py)."""

from collections.abc import Iterator

import pytest

from tests.telephony.fake_pbx import RecordingPbx


@pytest.fixture
def pbx() -> Iterator[RecordingPbx]:
    """A fake PBX whose API gives the recordings kept in it (key-1, secret-1)."""
    fake = RecordingPbx("key-1", "secret-1")
    yield fake
    fake.close()
