from pathlib import Path

import pydantic
import pytest

from sharecast.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_lists_from_environment(monkeypatch):
    monkeypatch.setenv("PUBLISH_PLATFORMS", "facebook, x")
    monkeypatch.setenv("JWT_ALGORITHMS", "RS256,ES256")
    monkeypatch.setenv("JWT_JWKS_URL", "https://idp.example/jwks.json")
    s = Settings()
    assert s.publish_platforms == ["facebook", "x"]
    assert s.jwt_algorithms == ["RS256", "ES256"]


def test_resource_paths():
    s = Settings(google_cloud_project="p", tasks_location="l", tasks_queue="q", pubsub_topic="t")
    assert s.queue_path == "projects/p/locations/l/queues/q"
    assert s.topic_path == "projects/p/topics/t"


def test_retry_policy_per_platform(monkeypatch):
    monkeypatch.setenv("RETRY_POLICIES", '{"x": {"max_attempts": 6, "base_s": 5}}')
    settings = Settings(backoff_jitter=0.1)
    x = settings.retry_policy("x")
    assert (x.max_attempts, x.base_s, x.jitter) == (6, 5.0, 0.1)
    facebook = settings.retry_policy("facebook")
    assert (facebook.max_attempts, facebook.base_s) == (4, 2.0)


def test_retry_policy_refuses_unknown_platforms(monkeypatch):
    monkeypatch.setenv("RETRY_POLICIES", '{"myspace": {"max_attempts": 2}}')
    with pytest.raises(pydantic.ValidationError):
        Settings()
