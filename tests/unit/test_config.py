from pathlib import Path

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


def test_deploy_requirements_match_root():
    root = (ROOT / "requirements.txt").read_text()
    deployed = (ROOT / "functions" / "requirements.txt").read_text()
    assert deployed == root, "copy requirements.txt to functions/requirements.txt"
