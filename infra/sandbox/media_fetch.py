"""Fetching media by URL, as Meta's servers do for Instagram, Threads and Facebook videos.

The sandbox downloads the (signed) URL over HTTP, counts the bytes and keeps none of them.
"""

from __future__ import annotations

import asyncio

import requests

#: Seconds the sandbox waits for a media URL (Meta's own timeout is undocumented).
FETCH_TIMEOUT_S = 10.0


class FetchFailed(Exception):
    """The URL could not be downloaded (unreachable, non-2xx, timeout)."""


def _download(url: str) -> int:
    try:
        with requests.get(url, stream=True, timeout=FETCH_TIMEOUT_S) as response:
            if response.status_code >= 300:
                raise FetchFailed(f"HTTP {response.status_code} fetching the media URL")
            return sum(len(chunk) for chunk in response.iter_content(64 * 1024))
    except requests.RequestException as exc:
        raise FetchFailed(f"{type(exc).__name__} fetching the media URL") from None


async def fetch_size(url: str) -> int:
    """Download ``url`` off the event loop; returns its size in bytes. Raises
    :class:`FetchFailed`."""
    if not url.startswith(("http://", "https://")):
        raise FetchFailed("the media URL is not http(s)")
    return await asyncio.to_thread(_download, url)
