"""Share-intent URLs: links that open a network's own composer, pre-filled
(docs/api.md#video-shares).

Nothing is posted by opening one; the user edits and sends. Query values are percent-encoded
like JavaScript's ``encodeURIComponent`` (spaces as ``%20``, ``&``, ``#``, ``/``, ``?``, ``=``
and every non-ASCII byte of UTF-8 encoded), which every one of these endpoints decodes.

- WhatsApp: ``https://wa.me/?text=`` (no recipient; the user picks a chat), text and link in
  one parameter (docs/networks.md#whatsapp; WhatsApp has no posting API).
- X: ``https://x.com/intent/tweet?text=&url=`` (the Post web intent,
  https://docs.x.com/x-for-websites/post-button/guides/web-intent).
- Facebook: ``https://www.facebook.com/sharer/sharer.php?u=`` (the sharer takes only the link;
  the text comes from the page's Open Graph tags).
- LinkedIn: ``https://www.linkedin.com/sharing/share-offsite/?url=`` (link only; the endpoint
  behind LinkedIn's Share Plugin,
  https://learn.microsoft.com/linkedin/consumer/integrations/self-serve/plugins/share-plugin).
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from sharecast.domain.statuses import Platform

WHATSAPP = "https://wa.me/"
X_INTENT = "https://x.com/intent/tweet"
FACEBOOK_SHARER = "https://www.facebook.com/sharer/sharer.php"
LINKEDIN_SHARE = "https://www.linkedin.com/sharing/share-offsite/"


def watch_url(video_id: str) -> str:
    """The public YouTube watch page of ``video_id``."""
    return f"https://www.youtube.com/watch?v={quote(video_id, safe='')}"


def _query(params: dict[str, str]) -> str:
    return urlencode(params, quote_via=quote, safe="")


def intent_url(platform: Platform, *, url: str, text: str | None) -> str | None:
    """The share-intent URL of ``platform`` for ``url`` with optional ``text``, or ``None``
    when the platform has none (Instagram, Threads' app-only flows, YouTube itself)."""
    text = (text or "").strip()
    if platform is Platform.WHATSAPP:
        return f"{WHATSAPP}?{_query({'text': f'{text} {url}' if text else url})}"
    if platform is Platform.X:
        params = {"text": text, "url": url} if text else {"url": url}
        return f"{X_INTENT}?{_query(params)}"
    if platform is Platform.FACEBOOK:
        return f"{FACEBOOK_SHARER}?{_query({'u': url})}"
    if platform is Platform.LINKEDIN:
        return f"{LINKEDIN_SHARE}?{_query({'url': url})}"
    return None
