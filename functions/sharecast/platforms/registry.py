"""The connector of each platform, built from settings (base URLs point at the sandbox locally)."""

from __future__ import annotations

import requests

from sharecast.config import Settings
from sharecast.domain.statuses import Platform
from sharecast.platforms.base import Connector, MediaSource
from sharecast.platforms.facebook import FacebookConnector
from sharecast.platforms.x import XConnector


def build_connectors(
    settings: Settings, session: requests.Session, *, media: MediaSource | None = None
) -> dict[Platform, Connector]:
    """One connector per platform that publishes for real, sharing one HTTP session.

    ``media`` (signed URLs and chunked reads of media objects) goes to the connectors that
    publish media; without it they refuse media targets as permanent errors."""
    timeout = settings.platform_http_timeout_s
    return {
        Platform.FACEBOOK: FacebookConnector(
            base_url=settings.facebook_graph_base_url,
            graph_version=settings.facebook_graph_version,
            timeout_s=timeout,
            session=session,
            media=media,
            media_url_ttl_s=settings.media_fetch_url_ttl_s,
        ),
        Platform.X: XConnector(
            base_url=settings.x_api_base_url,
            timeout_s=timeout,
            session=session,
            media=media,
            media_chunk_bytes=settings.x_media_chunk_bytes,
        ),
    }
