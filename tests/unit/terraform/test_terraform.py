"""Offline checks of terraform/ (docs/operations.md#deployment): it parses, and it matches the code
both ways.

- the functions map == the entry points of functions/main.py;
- every environment variable Terraform sets is a Settings field (or a documented platform
  variable), every setting without a safe production default is set where its workload reads
  it, and nothing local-only (emulators, the internal shared secret) is set;
- the composite / collection-group indexes and TTL policies == what sharecast.store.queries
  derives from the code's declared queries;
- sanity: only the api (and the relay, for browsers) is public, every service account has
  reasoned roles, every variable is typed and described, no wide-open network rule.

Parsed with python-hcl2 (https://github.com/amplify-education/python-hcl2), which keeps string
literals quoted and expressions as ``${...}``; :func:`_clean` strips the quotes. Needs neither
the terraform binary nor its providers.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest
from pydantic import SecretStr

from sharecast.config import Settings
from sharecast.store import queries
from sharecast.store.queries import CompositeIndex, Direction, FieldIndex, Scope, TtlPolicy
from tests.support.terraform import (
    TF,
    _clean,
    all_resources,
    blocks,
    local_values,
    parsed,
    resolve,
    resources,
)

ROOT = Path(__file__).resolve().parents[3]

AREAS = (
    "versions",
    "variables",
    "outputs",
    "apis",
    "iam",
    "firestore",
    "storage",
    "functions",
    "tasks",
    "pubsub",
    "relay",
    "scheduler",
    "secrets",
    "monitoring",
)

#: Functions that arrive with later issues; their Terraform is written and gated on the map.
FUTURE_FUNCTIONS = {"media_finalized"}

#: Variables read from the environment outside Settings, documented in README "Configuration".
PLATFORM_VARIABLES = {"LOG_LEVEL", "LOG_EXECUTION_ID", "THREADS"}

#: Settings that must never be set in production.
FORBIDDEN = {
    "firestore_emulator_host",  # not a Settings field, but the same rule
    "pubsub_emulator_host",
    "storage_emulator_host",
    "cloud_tasks_emulator_host",
    "internal_auth_secret",  # production: OIDC tokens checked by Cloud Run IAM
    "sandbox_connections",  # local stack only
    "relay_instance_id",  # one value for every instance would share one subscription
    "media_signer_key",  # production signs media URLs through IAM signBlob, without a key
}

#: Settings without a safe production default, by the workloads that read them.
REQUIRED = {
    "google_cloud_project": {
        "api",
        "publisher",
        "sweeper",
        "media_finalized",
        "webhook_delivery",
        "relay",
    },
    "publisher_url": {"api", "publisher", "sweeper"},
    "tasks_invoker_service_account": {"api", "publisher", "sweeper"},
    # Every workload that commits events enqueues webhook deliveries (docs/webhooks.md).
    "webhook_delivery_url": {"api", "publisher", "sweeper", "webhook_delivery"},
    "webhook_invoker_service_account": {"api", "publisher", "sweeper", "webhook_delivery"},
    # Production identities of the internal entry points' callers (sharecast.internal_auth).
    "sweeper_url": {"sweeper"},
    "scheduler_invoker_service_account": {"sweeper"},
    "media_finalized_audiences": {"media_finalized"},
    "eventarc_trigger_service_account": {"media_finalized"},
    "jwt_secret": {"api", "relay"},
    "sse_token_secret": {"api", "relay"},
    "token_encryption_keys": {"api", "publisher", "webhook_delivery"},
    "media_bucket": {"api", "publisher", "sweeper", "media_finalized"},
    "media_signer_email": {"api", "publisher"},
    # OAuth client secrets: code exchange (api) and refresh (publisher).
    **{
        f"{p}_client_secret": {"api", "publisher"}
        for p in ("facebook", "threads", "linkedin", "x", "youtube")
    },
}

#: Settings without a default that production may leave unset (set from optional variables).
OPTIONAL = {
    "jwt_jwks_url",
    "jwt_issuer",
    "jwt_audience",
    "oauth_callback_base_url",
    *(f"{p}_client_id" for p in ("facebook", "threads", "linkedin", "x", "youtube")),
}

#: Optional keys of third-party APIs that Terraform cannot generate: without one the feature is
#: skipped (README "Configuration" says how to add it to the function from Secret Manager).
OPERATOR_SECRETS = {"youtube_api_key"}

SERVICE_ACCOUNTS_ALWAYS = {"relay", "tasks-invoker", "webhooks-invoker", "builder"}


def tf_text() -> str:
    return "\n".join(path.read_text() for path in sorted(TF.glob("*.tf")))


def functions_map() -> dict[str, dict[str, Any]]:
    return local_values()["functions"]


def workload_env(entry: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``(plain env, secret env)`` of a functions-map entry or local.relay (as Terraform merges)."""
    groups = local_values()["env_groups"]
    plain = dict(groups["common"])
    for group in entry["env_groups"]:
        plain.update(groups[group])
    plain.update(entry["env"])
    return plain, dict(entry["secrets"])


def workloads() -> dict[str, tuple[dict[str, Any], dict[str, str]]]:
    result = {}
    for name, entry in functions_map().items():
        plain, secret = workload_env(entry)
        result[name] = ({**local_values()["env_groups"]["function_runtime"], **plain}, secret)
    result["relay"] = workload_env(local_values()["relay"])
    return result


def entry_points() -> dict[str, str]:
    """Entry points of functions/main.py: name => "http" or "cloud_event" (WSGI functions and
    ``functions_framework.aio`` ASGI ones alike)."""
    tree = ast.parse((ROOT / "functions" / "main.py").read_text())
    found = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            name = ast.unparse(target)
            for kind in ("http", "cloud_event"):
                if name in (f"functions_framework.{kind}", f"functions_framework.aio.{kind}"):
                    found[node.name] = kind
    return found


# --- structure ---------------------------------------------------------------------------------


def test_every_file_parses_and_each_area_has_its_file():
    assert set(AREAS) <= set(parsed()), f"missing: {set(AREAS) - set(parsed())}"
    with (TF / "example.tfvars").open() as handle:
        example = _clean(hcl2.load(handle))
    assert example["project_id"]
    variables = {name for _, block in blocks("variable") for name in block}
    assert set(example) <= variables


def test_variables_have_type_and_description():
    for file, block in blocks("variable"):
        for name, body in block.items():
            assert file == "variables", f"variable {name} belongs in variables.tf"
            assert body.get("type"), f"variable {name} has no type"
            assert len(body.get("description", "")) > 10, f"variable {name} has no description"


def test_required_outputs():
    outputs = {name for _, block in blocks("output") for name in block}
    assert {"api_url", "relay_url", "media_bucket"} <= outputs
    for _, block in blocks("output"):
        for name, body in block.items():
            assert body.get("description"), f"output {name} has no description"


# --- functions ---------------------------------------------------------------------------------


def test_functions_map_is_exactly_the_entry_points_of_main_py():
    points = entry_points()
    assert set(points) == set(functions_map()), (
        "terraform/functions.tf local.functions must list exactly the entry points of "
        f"functions/main.py: {sorted(points)} vs {sorted(functions_map())}"
    )
    for name, kind in points.items():
        trigger = functions_map()[name]["trigger"]
        assert (trigger == "http") == (kind == "http"), f"{name}: {kind} entry point, {trigger}"


def test_future_functions_are_written_but_commented_out():
    text = (TF / "functions.tf").read_text()
    for name in FUTURE_FUNCTIONS - set(functions_map()):
        assert re.search(rf"^\s*# {name} = {{", text, re.M), f"{name} entry missing"
        assert "# enable when functions/main.py defines it" in text


def test_every_function_entry_has_the_same_attributes():
    shapes = {name: set(entry) for name, entry in functions_map().items()}
    first = next(iter(shapes.values()))
    assert all(shape == first for shape in shapes.values()), shapes
    assert {"trigger", "public", "env_groups", "env", "secrets", "memory", "timeout_s"} <= first


def test_every_function_has_its_threads_set_for_its_concurrency():
    """The api (ASGI) runs handlers in ``API_THREADS`` threads of its front; the Flask functions
    run on functions-framework's gunicorn threaded worker, a thread per request in flight, so
    ``THREADS`` is their Cloud Run concurrency: fewer would queue requests inside an instance
    Cloud Run believes free, and the framework's default (four per CPU the container reports)
    is not the concurrency (docs/operations.md#threads-and-concurrency)."""
    asgi = {
        node.name
        for node in ast.parse((ROOT / "functions" / "main.py").read_text()).body
        if isinstance(node, ast.AsyncFunctionDef)
        and any(ast.unparse(d).startswith("functions_framework.aio.") for d in node.decorator_list)
    }
    assert asgi == {"api"}
    for name, entry in functions_map().items():
        env = entry["env"]
        if name in asgi:
            assert "THREADS" not in env, name
            assert 1 <= int(env["API_THREADS"]) <= int(entry["concurrency"]), name
        else:
            assert int(env["THREADS"]) == int(entry["concurrency"]), name


def test_function_resource_is_driven_by_the_map():
    fn = resources("google_cloudfunctions2_function")
    assert set(fn) == {"fn"}
    body = fn["fn"]
    assert body["for_each"] == "${local.functions}"
    assert body["build_config"][0]["entry_point"] == "${each.key}"
    storage = body["build_config"][0]["source"][0]["storage_source"][0]
    assert storage["object"] == "${google_storage_bucket_object.functions_source.name}"
    obj = resources("google_storage_bucket_object")["functions_source"]
    assert "data.archive_file.functions_source.output_sha256" in obj["name"]


def test_only_the_api_is_public():
    public = {name for name, entry in functions_map().items() if entry["public"] is True}
    assert public == {"api"}
    for name, entry in functions_map().items():
        assert entry["public"] in (True, False), f"{name}: public must be a literal bool"
    # allUsers appears only in the api's binding (filtered on public) and the relay's.
    holders = {
        address
        for address, body in all_resources().items()
        if body.get("member") == "allUsers" or body.get("members") == ["allUsers"]
    }
    assert holders == {
        "google_cloud_run_service_iam_member.public",
        "google_cloud_run_v2_service_iam_member.relay_public",
    }
    assert (
        "if fn.public" in all_resources()["google_cloud_run_service_iam_member.public"]["for_each"]
    )
    assert tf_text().count('"allUsers"') == 2
    ingress = resources("google_cloudfunctions2_function")["fn"]["service_config"][0]
    assert ingress["ingress_settings"] == (
        '${each.value.public ? "ALLOW_ALL" : "ALLOW_INTERNAL_ONLY"}'
    )


def test_gated_resources_follow_the_map():
    text = (TF / "scheduler.tf").read_text()
    assert 'if contains(keys(local.functions), "sweeper")' in text
    accounts = (TF / "iam.tf").read_text()
    assert 'if contains(keys(local.functions), "sweeper")' in accounts
    assert resources("google_service_account")["workload"]["for_each"] == (
        "${local.service_accounts}"
    )
    trigger = resources("google_cloudfunctions2_function")["fn"]["dynamic"][0]["event_trigger"]
    assert 'each.value.trigger == "gcs_finalize"' in trigger["for_each"]
    job = resources("google_cloud_scheduler_job")["sweeper"]
    assert job["for_each"] == "${local.sweeper_jobs}"
    assert "oidc_token" in job["http_target"][0]


# --- environment variables ---------------------------------------------------------------------


def settings_env_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def test_every_env_var_is_a_setting():
    allowed = settings_env_names() | PLATFORM_VARIABLES
    for workload, (plain, secret) in workloads().items():
        unknown = (set(plain) | set(secret)) - allowed
        assert not unknown, f"{workload} sets {sorted(unknown)}: not fields of Settings"


def test_nothing_local_only_is_set():
    for workload, (plain, secret) in workloads().items():
        names = {n.lower() for n in (*plain, *secret)}
        assert not names & FORBIDDEN, f"{workload} sets {sorted(names & FORBIDDEN)}"
        for name, value in plain.items():
            assert "127.0.0.1" not in str(value), name
            assert "localhost" not in str(value), name
    assert "127.0.0.1" not in tf_text()
    assert "localhost" not in tf_text()


def _unsafe_default(name: str) -> bool:
    field = Settings.model_fields[name]
    default = field.get_default(call_default_factory=True)
    if default is None or field.annotation in (SecretStr, SecretStr | None):
        return True
    text = str(default)
    return (
        "127.0.0.1" in text
        or "localhost" in text
        or text == "sharecast-local"
        or text.endswith("-local")  # a local-stack resource name (the media bucket)
    )


def test_every_setting_without_a_safe_default_is_classified():
    unsafe = {name for name in Settings.model_fields if _unsafe_default(name)}
    classified = set(REQUIRED) | FORBIDDEN | OPTIONAL | OPERATOR_SECRETS
    assert unsafe <= classified, f"classify in this test: {sorted(unsafe - classified)}"
    assert set(REQUIRED) <= unsafe | {"google_cloud_project", "media_finalized_audiences"}


def test_required_settings_are_set_where_they_are_read():
    deployed = workloads()
    for field, readers in REQUIRED.items():
        env = field.upper()
        for workload in readers & set(deployed):
            plain, secret = deployed[workload]
            assert env in plain or env in secret, f"{workload} does not set {env}"


def test_secrets_come_from_secret_manager():
    app_secrets = set(local_values()["app_secrets"])
    for workload, (plain, secret) in workloads().items():
        for name in plain:
            field = Settings.model_fields.get(name.lower())
            if field is not None:
                assert field.annotation not in (SecretStr, SecretStr | None), (
                    f"{workload}: {name} is a secret and must come from Secret Manager"
                )
        platform_secrets = set(local_values()["platform_secrets"])
        assert set(secret.values()) <= app_secrets | platform_secrets, workload
        for env, secret_id in secret.items():
            if secret_id in platform_secrets:
                assert local_values()["platform_secrets"][secret_id] == env, env


def test_optional_settings_come_from_variables():
    groups = local_values()["env_groups"]
    for field in OPTIONAL:
        values = [g[field.upper()] for g in groups.values() if field.upper() in g]
        assert values == [f"${{var.{field}}}"], field


def test_publisher_url_and_task_identity():
    values = local_values()
    tasks = values["env_groups"]["tasks"]
    assert tasks["PUBLISHER_URL"] == "${local.publisher_url}"
    assert values["publisher_url"].endswith(".cloudfunctions.net/publisher")
    assert tasks["TASKS_INVOKER_SERVICE_ACCOUNT"] == "${local.tasks_invoker_email}"
    account_id = resources("google_service_account")["workload"]["account_id"]
    assert account_id == 'sharecast-${replace(each.key, "_", "-")}'
    assert values["tasks_invoker_email"].startswith("sharecast-tasks-invoker@")
    checks = {name for _, block in blocks("check") for name in block}
    assert "publisher_url" in checks


#: Environment variables naming identities and URLs (resolved for a sample project).
IDENTITY_ENV = (
    "PUBLISHER_URL",
    "TASKS_INVOKER_SERVICE_ACCOUNT",
    "WEBHOOK_DELIVERY_URL",
    "WEBHOOK_INVOKER_SERVICE_ACCOUNT",
    "SWEEPER_URL",
    "SCHEDULER_INVOKER_SERVICE_ACCOUNT",
    "MEDIA_FINALIZED_AUDIENCES",
    "EVENTARC_TRIGGER_SERVICE_ACCOUNT",
)


def _fn_env(name: str) -> dict[str, Any]:
    plain, _ = workload_env(functions_map()[name])
    return {k: resolve(v, each_key=name) for k, v in plain.items() if k in IDENTITY_ENV}


def test_the_sweeper_checks_what_its_scheduler_jobs_send():
    """scheduler.tf's OIDC token (audience, account) == what the sweeper is told to require."""
    job = resources("google_cloud_scheduler_job")["sweeper"]["http_target"][0]
    token = resolve(job["oidc_token"][0])
    env = _fn_env("sweeper")
    assert token["audience"] == env["SWEEPER_URL"]
    assert token["service_account_email"] == env["SCHEDULER_INVOKER_SERVICE_ACCOUNT"]
    assert env["SWEEPER_URL"].endswith(".cloudfunctions.net/sweeper")
    assert env["SCHEDULER_INVOKER_SERVICE_ACCOUNT"].startswith("sharecast-scheduler-invoker@")
    # The account Scheduler signs with is the one allowed to invoke the sweeper (iam.tf).
    assert {"sa": "scheduler-invoker", "on": "function:sweeper"}.items() <= next(
        g for g in grants() if g["sa"] == "scheduler-invoker"
    ).items()
    assert "sweeper_url" in {name for _, block in blocks("check") for name in block}


def test_media_finalized_checks_what_its_eventarc_trigger_sends():
    """The Eventarc trigger's account == EVENTARC_TRIGGER_SERVICE_ACCOUNT; the audiences are
    the function's Cloud Run URLs."""
    trigger = resources("google_cloudfunctions2_function")["fn"]["dynamic"][0]["event_trigger"]
    account = resolve(trigger["content"][0]["service_account_email"], each_key="media_finalized")
    env = _fn_env("media_finalized")
    assert env["EVENTARC_TRIGGER_SERVICE_ACCOUNT"] == account
    audiences = env["MEDIA_FINALIZED_AUDIENCES"].split(",")
    assert audiences[0] == "https://media-finalized-123456789012.europe-west1.run.app"
    assert all(a.startswith("https://") for a in audiences)
    assert "media_finalized_audience" in {name for _, block in blocks("check") for name in block}


def test_the_publisher_checks_what_its_tasks_carry():
    """Every workload that enqueues gives its tasks the identity the publisher requires."""
    publisher = _fn_env("publisher")
    for name in ("api", "publisher", "sweeper"):
        env = _fn_env(name)
        assert env["PUBLISHER_URL"] == publisher["PUBLISHER_URL"], name
        assert env["TASKS_INVOKER_SERVICE_ACCOUNT"] == publisher["TASKS_INVOKER_SERVICE_ACCOUNT"], (
            name
        )


def test_webhook_delivery_checks_what_its_tasks_carry():
    """Every workload that enqueues webhook tasks gives them the identity webhook_delivery
    requires, on the webhooks queue, and that account may invoke it."""
    own = _fn_env("webhook_delivery")
    assert own["WEBHOOK_DELIVERY_URL"].endswith(".cloudfunctions.net/webhook-delivery")
    assert own["WEBHOOK_INVOKER_SERVICE_ACCOUNT"].startswith("sharecast-webhooks-invoker@")
    for name in ("api", "publisher", "sweeper"):
        env = _fn_env(name)
        assert env["WEBHOOK_DELIVERY_URL"] == own["WEBHOOK_DELIVERY_URL"], name
        assert env["WEBHOOK_INVOKER_SERVICE_ACCOUNT"] == own["WEBHOOK_INVOKER_SERVICE_ACCOUNT"]
        enqueue = {(g["on"], g["role"]) for g in grants() if g["sa"] == name}
        assert ("webhook_queue", "roles/cloudtasks.enqueuer") in enqueue, name
        assert ("sa:webhooks-invoker", "roles/iam.serviceAccountUser") in enqueue, name
    invokers = {g["sa"] for g in grants() if g["on"] == "function:webhook_delivery"}
    assert invokers == {"webhooks-invoker"}
    assert "webhook_delivery_url" in {name for _, block in blocks("check") for name in block}
    queue = resources("google_cloud_tasks_queue")["webhooks"]
    assert queue["rate_limits"][0]["max_dispatches_per_second"] == (
        "${var.webhook_queue_max_dispatches_per_second}"
    )
    plain, _ = workload_env(functions_map()["webhook_delivery"])
    assert plain["WEBHOOK_QUEUE"] == "${google_cloud_tasks_queue.webhooks.name}"


def test_names_match_the_local_stack_defaults():
    defaults = Settings.model_fields
    assert (
        resources("google_cloud_tasks_queue")["publish"]["name"]
        == defaults["tasks_queue"].get_default()
    )
    assert (
        resources("google_pubsub_topic")["status"]["name"] == defaults["pubsub_topic"].get_default()
    )
    assert (
        resources("google_cloud_tasks_queue")["webhooks"]["name"]
        == defaults["webhook_queue"].get_default()
    )


# --- Firestore -----------------------------------------------------------------------------------


def test_composite_indexes_match_the_code_both_ways():
    declared = {
        CompositeIndex(
            index["collection"],
            Scope(index["query_scope"]),
            tuple((f["field_path"], Direction(f["order"])) for f in index["fields"]),
        )
        for index in local_values()["composite_indexes"].values()
    }
    derived = queries.required_composite_indexes(queries.ALL_QUERIES)
    assert derived - declared == set(), "add to local.composite_indexes in terraform/firestore.tf"
    assert declared - derived == set(), "no declared query needs these indexes: remove them"
    index = resources("google_firestore_index")
    assert set(index) == {"composite"}
    assert index["composite"]["for_each"] == "${local.composite_indexes}"


def test_collection_group_field_indexes_match_the_code_both_ways():
    declared = {
        FieldIndex(i["collection"], i["field"], Direction(i["order"]))
        for i in local_values()["field_indexes"].values()
    }
    assert declared == queries.required_field_indexes(queries.ALL_QUERIES)


def test_ttl_policies_match_the_code_both_ways():
    declared = {
        TtlPolicy(p["collection"], p["field"]) for p in local_values()["ttl_policies"].values()
    }
    assert declared == set(queries.ALL_TTL_POLICIES)
    ttl = resources("google_firestore_field")["ttl"]
    assert ttl["for_each"] == "${local.ttl_policies}"
    assert "ttl_config" in ttl


def test_unindexed_fields_are_never_queried():
    unindexed = {
        (e["collection"], e["field"])
        for key in ("index_exemptions", "ttl_policies")
        for e in local_values()[key].values()
    }
    for query in queries.ALL_QUERIES:
        used = {*query.equality, *query.range_fields, *(f for f, _ in query.order_by)}
        for field in used:
            assert (query.collection_group, field) not in unindexed, (query.name, field)


def test_firestore_database_is_native():
    db = resources("google_firestore_database")["main"]
    assert db["type"] == "FIRESTORE_NATIVE"
    assert db["name"] == "(default)"


# --- IAM -----------------------------------------------------------------------------------------

GRANT_TARGETS = re.compile(
    r"^(project|topic|queue|webhook_queue|media_bucket|source_bucket|images_repo"
    r"|sa:[a-z_-]+|function:[a-z_]+)$"
)


def grants() -> list[dict[str, str]]:
    return local_values()["grants"]


def test_every_role_has_a_reason_and_a_known_target():
    for grant in grants():
        where = f"{grant['sa']} {grant['role']}"
        assert len(grant.get("why", "")) >= 15, f"{where}: say why in `why`"
        assert GRANT_TARGETS.match(grant["on"]), f"{where}: unknown target {grant['on']}"
        assert grant["role"].startswith("roles/") or grant["role"] == "${local.relay_role}"
        assert grant["role"] not in ("roles/owner", "roles/editor", "roles/viewer"), where
        assert not grant["role"].endswith(".admin"), f"{where}: no admin roles"


def test_every_service_account_has_reasoned_roles():
    granted = {grant["sa"] for grant in grants()}
    expected = set(functions_map()) | FUTURE_FUNCTIONS | SERVICE_ACCOUNTS_ALWAYS
    expected |= {"scheduler-invoker"}
    assert expected <= granted, f"no roles for {sorted(expected - granted)}"
    invoked = {
        g["on"].removeprefix("function:") for g in grants() if g["on"].startswith("function:")
    }
    private = {name for name, entry in functions_map().items() if not entry["public"]}
    assert private <= invoked, "every private function needs an invoker"
    assert invoked <= set(functions_map()) | FUTURE_FUNCTIONS


def test_relay_can_manage_its_own_subscriptions_only():
    role = resources("google_project_iam_custom_role")["relay_subscriptions"]
    assert set(role["permissions"]) == {
        "pubsub.subscriptions.consume",
        "pubsub.subscriptions.create",
        "pubsub.subscriptions.delete",
        "pubsub.subscriptions.get",
    }
    relay = {(g["on"], g["role"]) for g in grants() if g["sa"] == "relay"}
    assert ("topic", "roles/pubsub.subscriber") in relay
    assert ("project", "roles/datastore.viewer") in relay


def test_no_wide_open_network_or_keys():
    text = tf_text()
    assert "0.0.0.0/0" not in text
    assert "::/0" not in text
    assert "google_service_account_key" not in text
    assert '"roles/owner"' not in text
    assert '"roles/editor"' not in text


def test_checkov_skips_are_justified():
    skips = re.findall(r"#checkov:skip=(\S+?):(.*)", tf_text())
    assert skips, "expected the documented skips"
    for check, reason in skips:
        assert re.fullmatch(r"CKV2?_[A-Z]+_\d+", check), check
        assert len(reason.strip()) >= 40, f"{check}: justify the skip"


# --- relay and deployment pieces -----------------------------------------------------------------


def test_relay_service():
    relay = resources("google_cloud_run_v2_service")["relay"]
    template = relay["template"][0]
    container = template["containers"][0]
    assert container["image"] == "${var.relay_image}"
    assert container["resources"][0]["cpu_idle"] is False
    assert template["scaling"][0]["min_instance_count"] == "${var.relay_min_instances}"
    assert template["timeout"] == "${var.relay_request_timeout_s}s"
    assert template["max_instance_request_concurrency"] == "${var.relay_concurrency}"
    plain, secret = workloads()["relay"]
    assert "RELAY_MAX_STREAM_S" in plain
    assert set(secret) == {"JWT_SECRET", "SSE_TOKEN_SECRET"}


@pytest.mark.parametrize("name", ["tasks", "pubsub"])
def test_queue_and_topic_exist(name):
    kind = {"tasks": "google_cloud_tasks_queue", "pubsub": "google_pubsub_topic"}[name]
    assert resources(kind)
    if name == "tasks":
        queue = resources(kind)["publish"]
        assert queue["rate_limits"]
        assert queue["retry_config"]


def test_procfile_serves_the_relay_app():
    procfile = (ROOT / "functions" / "Procfile").read_text()
    web = [line for line in procfile.splitlines() if line.startswith("web:")]
    assert len(web) == 1
    assert "uvicorn sharecast.relay.main:app" in web[0]
    assert "--port $PORT" in web[0]
    assert "--host 0.0.0.0" in web[0]
    source = (ROOT / "functions" / "sharecast" / "relay" / "main.py").read_text()
    assert re.search(r"^app = ", source, re.M)


def test_monitoring():
    """The publisher's attempt metrics (the rest: tests/unit/terraform/test_monitoring.py)."""
    metrics = resources("google_logging_metric")
    assert {"publish_outcomes", "publish_latency", "counter", "outbox_republished"} <= set(metrics)
    assert "publish attempt finished" in (TF / "monitoring.tf").read_text()
    attempt = (ROOT / "functions" / "sharecast" / "publisher" / "pipeline.py").read_text()
    assert '"publish attempt finished"' in attempt
    for field in ("platform", "status", "outcome", "duration_ms"):
        assert re.search(rf"\b{field}=", attempt), field


def test_required_apis():
    services = local_values()["services"]
    for api in ("cloudfunctions", "run", "firestore", "cloudtasks", "pubsub", "secretmanager"):
        assert f"{api}.googleapis.com" in services


def test_media_bucket_cors_follows_the_browser_origins_and_the_local_front():
    """Browsers upload to the bucket from the configured origins (the one variable also set as
    CORS_ALLOWED_ORIGINS on the api and the relay), with the headers the URLs are signed with;
    the local Storage front (infra/storagecors.py) mirrors the same entry."""
    from infra import storagecors

    [dynamic] = resources("google_storage_bucket")["media"]["dynamic"]
    cors = dynamic["cors"]
    assert "var.cors_origins" in cors["for_each"]
    [content] = cors["content"]
    assert content["origin"] == "${cors.value}"
    assert tuple(content["method"]) == storagecors.METHODS
    assert tuple(content["response_header"]) == storagecors.RESPONSE_HEADERS
    assert content["max_age_seconds"] == storagecors.MAX_AGE_S
    for browser_facing in ("api", "relay"):
        env, _ = workloads()[browser_facing]
        assert env["CORS_ALLOWED_ORIGINS"] == '${join(",", var.cors_origins)}'
