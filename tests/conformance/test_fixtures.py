"""Every fixture names its source and what was filled in, and can be played back."""

from __future__ import annotations

import pytest

from tests.conformance.playback import SOURCE_KINDS, all_fixtures, load, response_bytes


def test_there_are_enough_third_party_cases():
    assert len(all_fixtures()) >= 60


@pytest.mark.parametrize("name", all_fixtures())
def test_fixture_cites_its_source(name):
    fixture = load(name)
    source = fixture.source
    assert source["kind"] in SOURCE_KINDS, name
    cited = source.get("url") or (
        source.get("repository") and source.get("path") and source.get("commit")
    )
    assert cited, f"{name}: a URL, or repository + path + commit"
    assert fixture.filled_in.strip(), f"{name}: say what was filled in (or 'nothing')"
    assert fixture.exchanges, name
    for exchange in fixture.exchanges:
        assert exchange["request"]["method"] in ("GET", "POST", "PUT", "DELETE")
        assert exchange["request"]["path"].startswith("/")
        response = exchange["response"]
        assert 100 <= int(response["status"]) <= 599
        response_bytes(response)  # decodes (base64/gzip/JSON)
