"""The text of a server-posted share: message, title, description, hashtags and watch URL.

Lines, in order: the user's ``message``, the video title, its description, the hashtags, the
watch URL. The result always fits the platform's text limit as the platform counts it
(:func:`sharecast.domain.validation.text_length`: X weighted, URLs 23, emoji 2). What gives way
first is the description (cut at a word with an ellipsis, then dropped), then hashtags from the
last, then the title, then the message; the URL is never cut.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sharecast.domain.statuses import Platform
from sharecast.domain.validation import TEXT_LIMITS, text_length

ELLIPSIS = "…"
#: Hashtags kept at most (several networks throttle or cap posts with many tags).
MAX_HASHTAGS = 5
#: A hashtag body: letters, digits, marks and underscores (X, Meta and LinkedIn all stop there).
_TAG_CHARS = re.compile(r"[^\w]", re.UNICODE)


@dataclass(frozen=True)
class VideoInfo:
    """What enrichment learned about a video (``title``/``description`` may be empty)."""

    title: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()


def hashtag(raw: str) -> str | None:
    """``raw`` as a hashtag (``"#new music!"`` → ``"#newmusic"``), or ``None`` if nothing is
    left or it is only digits (not a hashtag on any network)."""
    body = _TAG_CHARS.sub("", unicodedata.normalize("NFC", raw.strip().lstrip("#")))
    if not body or body.isdigit():
        return None
    return f"#{body[:50]}"


def hashtags(requested: Sequence[str], video_tags: Sequence[str]) -> list[str]:
    """The hashtags to use: the requested ones, else the video's own tags; deduplicated
    (case-insensitively), at most :data:`MAX_HASHTAGS`."""
    out: list[str] = []
    seen: set[str] = set()
    for raw in requested or video_tags:
        tag = hashtag(raw)
        if tag is not None and tag.lower() not in seen:
            seen.add(tag.lower())
            out.append(tag)
    return out[:MAX_HASHTAGS]


def _clean(text: str) -> str:
    """Trimmed, with runs of blank lines collapsed (descriptions are often padded)."""
    text = re.sub(r"[ \t]+\n", "\n", text.strip())
    return re.sub(r"\n{3,}", "\n\n", text)


def _cut(text: str, fits: Callable[[str], bool]) -> str:
    """The longest prefix of ``text`` (at a word boundary when one is near) plus an ellipsis
    for which ``fits(candidate)`` holds, or ``""`` when not even one character fits."""
    lo, hi = 0, len(text)
    while lo < hi:  # the largest n with fits(text[:n] + ELLIPSIS)
        mid = (lo + hi + 1) // 2
        if fits(text[:mid].rstrip() + ELLIPSIS):
            lo = mid
        else:
            hi = mid - 1
    if lo == 0:
        return ""
    head = text[:lo]
    space = head.rfind(" ")
    if space > lo // 2 and not text[lo : lo + 1].isspace():
        head = head[:space]
    return head.rstrip() + ELLIPSIS


def compose_message(
    platform: Platform,
    *,
    url: str,
    message: str | None = None,
    video: VideoInfo | None = None,
    tags: Sequence[str] = (),
) -> str:
    """The share text for ``platform``, within its limit (see the module docstring).

    ``tags`` are hashtags as produced by :func:`hashtags`. Raises ``ValueError`` only when the
    URL alone is longer than the limit (never for a real watch URL).
    """
    limit = TEXT_LIMITS.get(platform, max(TEXT_LIMITS.values()))
    video = video or VideoInfo()
    parts = {
        "message": _clean(message or ""),
        "title": _clean(video.title),
        "description": _clean(video.description),
    }
    tag_list = list(tags)

    def render() -> str:
        lines = [parts["message"], parts["title"], parts["description"], " ".join(tag_list), url]
        return "\n\n".join(line for line in lines if line)

    def fits(text: str) -> bool:
        return text_length(platform, text) <= limit

    def cut(name: str) -> bool:
        """Shorten part ``name`` until the whole fits; False if it must go entirely first."""
        full, parts[name] = parts[name], ""
        if not fits(render()):
            return False

        def fits_with(candidate: str) -> bool:
            parts[name] = candidate
            return fits(render())

        best = _cut(full, fits_with)
        parts[name] = best
        return True

    if fits(render()):
        return render()
    if not fits(url):
        raise ValueError(f"the URL alone exceeds the {platform.value} limit")
    if cut("description"):
        return render()
    while tag_list and not fits(render()):
        tag_list.pop()
    if fits(render()):
        return render()
    if cut("title"):
        return render()
    cut("message")
    return render()
