from datetime import UTC, datetime, timedelta

from sharecast.domain.statuses import Platform, normalise_platform
from sharecast.domain.validation import (
    TargetSpec,
    text_length,
    validate_schedule,
    validate_targets,
)

ENABLED = ["facebook", "x"]
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def codes(problems):
    return [p.code for p in problems]


def test_x_limit_exactly_280_passes_281_fails():
    ok = validate_targets([TargetSpec("x", None, "a" * 280)], enabled=ENABLED)[1]
    bad = validate_targets([TargetSpec("x", None, "a" * 281)], enabled=ENABLED)[1]
    assert ok == []
    assert codes(bad) == ["TEXT_TOO_LONG"]
    assert bad[0].target == 0
    assert bad[0].field == "platforms[0].content"


def test_x_weighting_counts_urls_as_23_and_emoji_as_2():
    url = "https://example.com/" + "p" * 100
    assert text_length(Platform.X, url) == 23
    assert text_length(Platform.X, "😀") == 2
    text = "a" * (280 - 23 - 1) + " " + url
    assert validate_targets([TargetSpec("x", None, text)], enabled=ENABLED)[1] == []
    assert codes(validate_targets([TargetSpec("x", None, "😀" * 141)], enabled=ENABLED)[1]) == [
        "TEXT_TOO_LONG"
    ]


def test_facebook_limit():
    assert validate_targets([TargetSpec("facebook", None, "a" * 63206)], enabled=ENABLED)[1] == []
    assert codes(
        validate_targets([TargetSpec("facebook", None, "a" * 63207)], enabled=ENABLED)[1]
    ) == ["TEXT_TOO_LONG"]


def test_unknown_whatsapp_disabled_duplicate_and_empty_are_reported_together():
    _, problems = validate_targets(
        [
            TargetSpec("myspace", None, "hi"),
            TargetSpec("whatsapp", None, "hi"),
            TargetSpec("linkedin", None, "hi"),
            TargetSpec("x", None, "hi"),
            TargetSpec("Twitter", None, "hi"),
            TargetSpec("facebook", None, "   "),
        ],
        enabled=ENABLED,
    )
    assert codes(problems) == [
        "UNKNOWN_PLATFORM",
        "SHARE_LINK_ONLY",
        "PLATFORM_NOT_ENABLED",
        "DUPLICATE_TARGET",
        "TEXT_REQUIRED",
    ]
    assert [p.target for p in problems] == [0, 1, 2, 4, 5]


def test_aliases_and_case():
    assert normalise_platform(" Twitter ") is Platform.X
    assert normalise_platform("FACEBOOK") is Platform.FACEBOOK
    assert normalise_platform("nope") is None


def test_schedule_rules():
    assert validate_schedule(None, now=NOW, max_ahead_days=365) == []
    assert codes(validate_schedule(NOW, now=NOW, max_ahead_days=365)) == ["SCHEDULE_IN_PAST"]
    assert validate_schedule(NOW + timedelta(days=365), now=NOW, max_ahead_days=365) == []
    assert codes(
        validate_schedule(NOW + timedelta(days=365, seconds=1), now=NOW, max_ahead_days=365)
    ) == ["SCHEDULE_TOO_FAR"]
