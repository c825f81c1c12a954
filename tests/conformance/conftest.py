"""The conformance suite: the real connectors against recorded answers of the real platforms,
played back over real HTTP by :class:`~tests.conformance.playback.PlaybackServer`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.conformance.playback import PlaybackServer, load


@pytest.fixture(scope="session")
def playback_server() -> Iterator[PlaybackServer]:
    server = PlaybackServer()
    yield server
    server.close()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


class Player:
    """Plays one fixture's exchanges; ``done()`` checks they were all asked for, in order."""

    def __init__(self, server: PlaybackServer) -> None:
        self.server = server
        self.base_url = server.base_url

    def play(self, *names: str):
        """Serve the exchanges of ``names`` (fixture names) in order; returns the fixtures."""
        fixtures = [load(name) for name in names]
        self.server.play(*[e for f in fixtures for e in f.exchanges])
        return fixtures[0] if len(fixtures) == 1 else fixtures

    def done(self) -> None:
        self.server.assert_done()

    @property
    def received(self):
        return self.server.received


@pytest.fixture
def player(playback_server: PlaybackServer) -> Player:
    return Player(playback_server)


@pytest.fixture(scope="session")
def media(stack):
    """Media bytes in the stack's storage emulator (connectors read them as from GCS)."""
    from tests.support.emulator_media import EmulatorMedia

    return EmulatorMedia()


@pytest.fixture(scope="session")
def url_media():
    """Signed URLs of media objects without the stack (the playback server never fetches them)."""
    from tests.support.emulator_media import EmulatorMedia

    return EmulatorMedia()
