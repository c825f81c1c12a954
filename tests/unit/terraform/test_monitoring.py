"""Operations in terraform/monitoring.tf, checked against the code and the docs.

- every alert condition and dashboard chart names a metric that exists: a log-based metric
  defined in terraform/, or a built-in Google Cloud metric type listed here with its source;
- every log-based metric's filter matches a line the code really logs: the ``message`` is the
  first argument of a logger call in the service the filter names, and each ``EXTRACT``ed
  ``jsonPayload`` field is a field of that call;
- every alert carries a runbook line pointing at a section of docs/operations.md that exists;
- ratio alerts wait (duration) and require a minimum volume; uptime checks, the relay's
  liveness probe and LOG_EXECUTION_ID are in place.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.support.terraform import ROOT, TF, local_values, resources

#: Built-in metric types the alerts and the dashboard use, with where Google documents them.
BUILTIN_METRICS = {
    # https://cloud.google.com/monitoring/api/metrics_gcp_p_z#gcp-run
    "run.googleapis.com/request_count",
    "run.googleapis.com/request_latencies",
    "run.googleapis.com/container/instance_count",
    # https://cloud.google.com/monitoring/api/metrics_gcp_c#gcp-cloudtasks
    "cloudtasks.googleapis.com/queue/task_attempt_delays",
    # https://cloud.google.com/monitoring/api/metrics_gcp_i_o#gcp-monitoring (uptime checks)
    "monitoring.googleapis.com/uptime_check/check_passed",
}

#: Which code a Cloud Run service (resource.labels.service_name) runs, for the message check.
SERVICE_CODE = {
    "publisher": [
        "functions/main.py",
        "functions/sharecast/publisher",
        "functions/sharecast/platforms",
    ],
    "sweeper": ["functions/main.py", "functions/sharecast/sweeper", "functions/sharecast/media"],
    "relay": ["functions/sharecast/relay"],
    "webhook-delivery": ["functions/main.py", "functions/sharecast/webhooks"],
    None: ["functions"],
}

LOG_CALL = re.compile(
    r"log\.(?:debug|info|warning|error|exception)\(\s*\"(?P<message>[^\"]+)\"(?P<rest>.*?)\n\s*\)?",
    re.S,
)


def log_calls(service: str | None) -> dict[str, str]:
    """``{message: source text of the call}`` for every logger call in the service's code."""
    found: dict[str, str] = {}
    for place in SERVICE_CODE[service]:
        path = ROOT / place
        files = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for file in files:
            text = file.read_text()
            for match in re.finditer(r"log\.(?:debug|info|warning|error|exception)\(", text):
                call = text[match.end() : match.end() + 600]
                message = re.match(r"\s*\"([^\"]+)\"", call)
                if message:
                    found.setdefault(message.group(1), call)
    return found


def metric_types() -> dict[str, dict[str, Any]]:
    """Log-based metric type => its definition (filter, extractors), counters expanded."""
    defined: dict[str, dict[str, Any]] = {}
    for key, body in resources("google_logging_metric").items():
        if key == "counter":
            for name, counter in local_values()["log_counters"].items():
                defined[f"logging.googleapis.com/user/sharecast/{name}"] = {
                    "filter": counter["filter"],
                    "label_extractors": counter["labels"],
                }
        else:
            defined[f"logging.googleapis.com/user/{body['name']}"] = body
    return defined


def resolve_metric(expr: str) -> str:
    """A ``metric.type`` value of monitoring.tf (literal, or a local naming a metric)."""
    if expr == "${local.publish_outcomes_type}":
        return "logging.googleapis.com/user/sharecast/publish_outcomes"
    if expr == "${local.outbox_lag_type}":
        return "logging.googleapis.com/user/sharecast/outbox_republished"
    counter = re.fullmatch(r'\$\{local\.counter_type\["(\w+)"\]\}', expr)
    if counter:
        return f"logging.googleapis.com/user/sharecast/{counter.group(1)}"
    assert "${" not in expr, f"unknown metric expression {expr}"
    return expr


def filter_metrics(text: str) -> list[str]:
    return [resolve_metric(m) for m in re.findall(r'metric\.type="((?:[^"$]|\$\{[^}]*\})+)"', text)]


def alert_filters() -> dict[str, list[str]]:
    """Alert policy => every filter of its conditions."""
    found: dict[str, list[str]] = {}
    for name, policy in resources("google_monitoring_alert_policy").items():
        filters = []
        for condition in policy["conditions"]:
            for kind in ("condition_threshold", "condition_absent"):
                for body in condition.get(kind, []):
                    filters += [body[k] for k in ("filter", "denominator_filter") if k in body]
        found[name] = filters
    return found


def test_every_alert_names_a_metric_that_exists():
    defined = set(metric_types()) | BUILTIN_METRICS
    for policy, filters in alert_filters().items():
        assert filters, policy
        for text in filters:
            metrics = filter_metrics(text)
            assert len(metrics) == 1, (policy, text)
            assert metrics[0] in defined, f"{policy}: no metric {metrics[0]}"


def test_the_alerts_cover_operations():
    assert set(alert_filters()) == {
        "publish_failure_rate",
        "dead_letters",
        "publish_backlog",
        "sweeper_failing",
        "sweeper_absent",
        "outbox_lag",
        "relay_errors",
        "relay_no_subscription",
        "api_5xx",
        "api_down",
        "needs_reauth_wave",
        "webhook_endpoints_disabled",
    }
    absent = resources("google_monitoring_alert_policy")["sweeper_absent"]["conditions"][0]
    assert "condition_absent" in absent, "the sweeper's absence is a metric-absence condition"


@pytest.mark.parametrize("metric", sorted(metric_types()))
def test_each_log_based_metric_matches_a_line_the_code_logs(metric):
    body = metric_types()[metric]
    text = body["filter"]
    if text == "${local.publish_finished_filter}":
        text = local_values()["publish_finished_filter"]
    messages = re.findall(r'jsonPayload\.message=\\*"([^"\\]+)\\*"', text)
    assert messages, f"{metric}: filter on the logged message"
    service_match = re.search(r'resource\.labels\.service_name=\\*"([^"\\]+)\\*"', text)
    service = service_match.group(1) if service_match else None
    calls = log_calls(service)
    fields = [
        m
        for expr in [*body.get("label_extractors", {}).values(), body.get("value_extractor", "")]
        for m in re.findall(r"EXTRACT\(jsonPayload\.([\w.]+)\)", expr)
    ]
    for message in messages:
        assert message in calls, f"{metric}: no {service or 'function'} code logs {message!r}"
        for field in fields:
            head = field.split(".")[0]
            if head == "message":  # the message itself
                continue
            # A field of this call (``name=``), or a count the sweep report adds to ``counts``.
            sweeper_counts = (ROOT / "functions/sharecast/sweeper").rglob("*.py")
            assert re.search(rf"\b{head}=", calls[message]) or (
                head == "counts"
                and any(f'"{field.split(".")[1]}"' in p.read_text() for p in sweeper_counts)
            ), f"{metric}: {message!r} has no field {field}"


def test_every_alert_has_a_runbook_section():
    operations = (ROOT / "docs" / "operations.md").read_text()
    anchors = {_slug(h) for h in re.findall(r"^#+\s+(.+)$", operations, re.M)}
    monitoring = (TF / "monitoring.tf").read_text()
    assert 'runbook               = "Runbook: docs/operations.md"' in monitoring
    for name, policy in resources("google_monitoring_alert_policy").items():
        content = policy["documentation"][0]["content"]
        anchor = re.search(r"\$\{local\.runbook\}#([\w-]+)", content)
        assert anchor, f"{name}: end the documentation with its runbook"
        assert anchor.group(1) in anchors, f"{name}: no section #{anchor.group(1)}"


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_ratio_alerts_wait_and_need_volume():
    policies = resources("google_monitoring_alert_policy")
    for name in ("publish_failure_rate", "api_5xx"):
        policy = policies[name]
        assert policy["combiner"] == "AND", name
        ratio, volume = (c["condition_threshold"][0] for c in policy["conditions"])
        assert "denominator_filter" in ratio
        assert ratio["duration"] != "0s", f"{name}: a ratio alert must last before it fires"
        assert "denominator_filter" not in volume
        assert volume["threshold_value"].startswith("${var.alert_"), name


def test_uptime_checks_liveness_probe_and_execution_ids():
    checks = resources("google_monitoring_uptime_check_config")
    assert checks["api"]["http_check"][0]["path"] == "/healthz"
    host = checks["api"]["monitored_resource"][0]["labels"]["host"]
    assert 'google_cloudfunctions2_function.fn["api"].service_config[0].uri' in host
    assert checks["relay"]["http_check"][0]["path"] == "/healthz"
    container = resources("google_cloud_run_v2_service")["relay"]["template"][0]["containers"][0]
    probe = container["liveness_probe"][0]
    assert probe["http_get"][0]["path"] == "/healthz"
    assert probe["failure_threshold"] * probe["period_seconds"] >= 30
    assert local_values()["env_groups"]["function_runtime"]["LOG_EXECUTION_ID"] == "true"
    merged = resources("google_cloudfunctions2_function")["fn"]["service_config"][0]
    assert "local.env_groups.function_runtime" in merged["environment_variables"]


def test_the_dashboard_is_json_in_the_repo_and_names_existing_metrics():
    dashboard = resources("google_monitoring_dashboard")["main"]
    assert "dashboards/sharecast.json" in dashboard["dashboard_json"]
    template = (TF / "dashboards" / "sharecast.json").read_text()
    placeholders = set(re.findall(r"\$\{(\w+)\}", template))
    call = dashboard["dashboard_json"]
    variables = dict(re.findall(r"(\w+) = ([^,}]+(?:\}[^,}]*)?)", call.split(", {", 1)[1]))
    assert placeholders == set(variables), placeholders ^ set(variables)
    values = {}
    for name, expr in variables.items():
        expr = expr.strip().removesuffix("})")
        if expr.startswith("local."):
            values[name] = resolve_metric("${" + expr + "}")
        elif "google_logging_metric.publish_latency.name" in expr:
            values[name] = "logging.googleapis.com/user/sharecast/publish_latency"
        else:
            assert expr == "google_cloud_tasks_queue.publish.name", expr
            values[name] = "publish"
    rendered = re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], template)
    tiles = json.loads(rendered)["mosaicLayout"]["tiles"]
    assert len(tiles) >= 10
    defined = set(metric_types()) | BUILTIN_METRICS
    for tile in tiles:
        for data in tile["widget"]["xyChart"]["dataSets"]:
            (metric,) = filter_metrics(data["timeSeriesQuery"]["timeSeriesFilter"]["filter"])
            assert metric in defined, (tile["widget"]["title"], metric)
