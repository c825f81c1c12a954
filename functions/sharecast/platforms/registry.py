"""The connector of each platform, built from settings (base URLs point at the sandbox locally).

WhatsApp has no connector: there is no API to post on a person's behalf, only share links
(``https://wa.me/?text=...``) that the user sends themselves; a WhatsApp target in a multipost is
refused with 422 ``SHARE_LINK_ONLY`` (docs/networks.md#whatsapp)."""

from __future__ import annotations

import requests

from sharecast.config import Settings
from sharecast.domain.statuses import Platform
from sharecast.platforms.base import Connector, MediaSource
from sharecast.platforms.facebook import FacebookConnector
from sharecast.platforms.instagram import InstagramConnector
from sharecast.platforms.linkedin import LinkedInConnector
from sharecast.platforms.threads import ThreadsConnector
from sharecast.platforms.x import XConnector
from sharecast.platforms.youtube import YouTubeConnector


def build_connectors(
    settings: Settings, session: requests.Session, *, media: MediaSource | None = None
) -> dict[Platform, Connector]:
    """One connector per platform that publishes for real, sharing one HTTP session.

    ``media`` (signed URLs and chunked reads of media objects) goes to the connectors that
    publish media; without it they refuse media targets as permanent errors."""
    timeout = settings.platform_http_timeout_s
    poll_s, max_polls = settings.container_poll_s, settings.container_max_polls
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
        Platform.INSTAGRAM: InstagramConnector(
            base_url=settings.instagram_api_base_url,
            version=settings.instagram_api_version,
            timeout_s=timeout,
            media=media,
            session=session,
            poll_s=poll_s,
            max_polls=max_polls,
        ),
        Platform.THREADS: ThreadsConnector(
            base_url=settings.threads_api_base_url,
            version=settings.threads_api_version,
            timeout_s=timeout,
            media=media,
            session=session,
            poll_s=poll_s,
            max_polls=max_polls,
        ),
        Platform.LINKEDIN: LinkedInConnector(
            base_url=settings.linkedin_api_base_url,
            version=settings.linkedin_api_version,
            timeout_s=timeout,
            media=media,
            session=session,
            poll_s=poll_s,
            max_polls=max_polls,
        ),
        Platform.YOUTUBE: YouTubeConnector(
            base_url=settings.youtube_api_base_url,
            timeout_s=timeout,
            media=media,
            session=session,
        ),
    }
