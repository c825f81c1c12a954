"""The chaos run: many posts, 3 targets each, through the whole running stack while the
sandbox injects faults, the publisher is SIGKILLed mid-attempt and restarted, and the relay is
restarted; then every invariant is checked. Used by ``tests/e2e/test_chaos.py`` (make test) and,
bigger, by ``tests/bench/bench_chaos.py`` (make bench).

The fault mix (:func:`fault_rules`), with the sandbox's own duplicate filter off so only
Sharecast stands between a user and a double post: 5xx, permanent errors, X 429s with a wait,
short latency, and the unknown outcomes of issues 13 and 14: *accept-then-drop* (the network
stores the post and the connection is cut), *accept-then-hang* (it stores the post and answers
after the client timed out) and *slow network* (it takes longer than the client timeout before
storing the post, which then lands after the publisher gave up). Those three are slower than
``PLATFORM_HTTP_TIMEOUT_S`` by :data:`BEYOND_TIMEOUT_S`, which the stack's settle window must
exceed (``tests/conftest.py``).

Invariants checked by :meth:`ChaosResult.problems`: every target terminal (nothing lost); no
(platform, account, text) posted twice in the sandbox ledger; no target ``FAILED`` whose post is
on the ledger; every SUCCESS has an external id that is the ledger's; every SSE client
(reconnecting with ``Last-Event-ID`` after each relay restart) received the final status (status
and version) of each of its targets; every event of every user's event log reached that user's
webhook endpoint (a sandbox receiver answering 503 to ``webhook_fail_rate`` of the deliveries)
with a valid signature and a 2xx answer, at least once.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests
from google.cloud import firestore

from infra.localenv import DEV_INTERNAL_SECRET, HOST, Ports
from infra.stack import Stack
from sharecast.config import Settings
from sharecast.domain.models import ConnectionRecord
from sharecast.domain.statuses import Platform
from sharecast.store.connections import (
    CONNECTIONS,
    connection_id,
    ensure_sandbox_connection,
    sandbox_account_id,
)
from sharecast.tasks import INTERNAL_AUTH_HEADER
from sharecast.timeutil import utcnow
from sharecast.vault import TokenVault
from tests.support.api import ApiClient
from tests.support.sandbox import Sandbox
from tests.support.sse import Frame, SSEClient
from tests.support.webhooks import Receiver

TERMINAL = {"SUCCESS", "FAILED", "CANCELLED"}
FINAL_POST = {"PUBLISHED", "PARTIAL", "FAILED", "CANCELLED"}


#: How much longer than the client timeout the slow faults take, seconds.
BEYOND_TIMEOUT_S = 4.0


@dataclass(frozen=True)
class ChaosConfig:
    """Size and violence of a run. Probabilities are per publish request to the sandbox (an
    error rule is drawn only when no earlier one fired, so the later ones fire a little less
    often than their ``_p``). ``client_timeout_s`` is the stack's ``PLATFORM_HTTP_TIMEOUT_S``."""

    posts: int = 200
    users: int = 4
    publisher_kills: int = 3
    relay_restarts: int = 1
    transient_p: float = 0.15
    permanent_p: float = 0.05
    rate_limit_p: float = 0.05
    latency_p: float = 0.30
    latency_ms: int = 150
    accept_drop_p: float = 0.06
    accept_hang_p: float = 0.04
    slow_p: float = 0.04
    client_timeout_s: float = 4.0
    create_threads: int = 4
    sweep_every_s: float = 2.0
    timeout_s: float = 300.0
    webhook_fail_rate: float = 0.3
    webhook_timeout_s: float = 240.0
    seed: int = 6

    @property
    def slow_ms(self) -> int:
        """How long the slow faults take: beyond the client timeout."""
        return int((self.client_timeout_s + BEYOND_TIMEOUT_S) * 1000)


def fault_rules(cfg: ChaosConfig) -> list[dict[str, Any]]:
    """The sandbox fault rules of a run. 429s only on X: its wait hint is seconds, while
    Facebook's is whole minutes (estimated_time_to_regain_access), too long for a test. The slow
    network is a ``latency`` rule: it delays the post itself, which lands after the client gave
    up; ``accept_then_hang`` stores the post first and delays only the answer."""
    return [
        {"kind": "latency", "probability": cfg.latency_p, "latency_ms": cfg.latency_ms},
        {"kind": "latency", "probability": cfg.slow_p, "latency_ms": cfg.slow_ms},
        {
            "kind": "rate_limit",
            "platform": "x",
            "probability": cfg.rate_limit_p,
            "retry_after_s": 1,
        },
        {"kind": "server_error", "probability": cfg.transient_p},
        {"kind": "permanent", "probability": cfg.permanent_p},
        {"kind": "accept_then_drop", "probability": cfg.accept_drop_p},
        {"kind": "accept_then_hang", "probability": cfg.accept_hang_p, "latency_ms": cfg.slow_ms},
    ]


class ResumingStream:
    """A user's SSE stream that reconnects with ``Last-Event-ID`` whenever it drops."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.frames: list[Frame] = []
        self.reconnects = 0
        self._stop = threading.Event()
        self._client = self._connect(None)
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _connect(self, last_id: str | None) -> SSEClient:
        headers = {"Authorization": f"Bearer {self.token}"}
        if last_id:
            headers["Last-Event-ID"] = last_id
        client = SSEClient(self.url, headers=headers)
        client.wait_connected(timeout=10)
        return client

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            if self._client.alive and self._client.status_code == 200:
                continue
            self.frames.extend(self._client.frames)
            last = next((f.id for f in reversed(self.frames) if f.id), None)
            time.sleep(0.5)  # the relay is restarting
            self._client = self._connect(last)
            self.reconnects += 1

    def all_frames(self) -> list[Frame]:
        return [*self.frames, *self._client.frames]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._client.close()


@dataclass
class ChaosResult:
    """What happened, and what must hold."""

    elapsed_s: float = 0.0
    posts: int = 0
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)  # target key => snapshot
    owners: dict[str, str] = field(default_factory=dict)  # target key => user
    texts: dict[str, str] = field(default_factory=dict)  # target key => text
    ledger: list[dict[str, Any]] = field(default_factory=list)
    frames: dict[str, list[Frame]] = field(default_factory=dict)  # user => frames
    kills: int = 0
    relay_restarts: int = 0
    reconnects: int = 0
    sweeps: Counter[str] = field(default_factory=Counter)
    events: dict[str, set[str]] = field(default_factory=dict)  # user => event ids in the log
    webhooks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # user => received
    webhook_wait_s: float = 0.0
    faults_fired: Counter[str] = field(default_factory=Counter)  # fault kind => firings

    def delivered(self, user_id: str) -> set[str]:
        """Event ids of ``user_id``'s deliveries that were verified and answered 2xx."""
        return {
            d["body"]["id"]
            for d in self.webhooks.get(user_id, [])
            if d["verified"] is True and d["answered"] < 300
        }

    def webhook_counts(self) -> dict[str, Any]:
        received = [d for got in self.webhooks.values() for d in got]
        distinct = {(d["webhook_id"], d["body"]["id"]) for d in received}
        return {
            "events": sum(len(ids) for ids in self.events.values()),
            "requests": len(received),
            "answered_503": sum(1 for d in received if d["answered"] == 503),
            "distinct_messages": len(distinct),
            "unverified": sum(1 for d in received if d["verified"] is not True),
            "settled_after_targets_s": round(self.webhook_wait_s, 1),
        }

    def _posted(self) -> Counter[tuple[str, str, str]]:
        return Counter((p["platform"], p["account_id"], p["text"]) for p in self.ledger)

    def _key(self, target_key: str) -> tuple[str, str, str]:
        t = self.targets[target_key]
        return (t["platform"], t["account_id"], self.texts[target_key])

    def figures(self) -> dict[str, int]:
        """The three figures the run must keep at zero: ledger duplicates, targets ``FAILED``
        whose post is on the ledger, targets lost (created, never terminal or never seen)."""
        posted = self._posted()
        return {
            "duplicates_on_ledger": sum(n - 1 for n in posted.values() if n > 1),
            "failed_but_posted": sum(
                1
                for key, t in self.targets.items()
                if t["status"] == "FAILED" and posted[self._key(key)] > 0
            ),
            "lost": sum(1 for t in self.targets.values() if t["status"] not in TERMINAL)
            + max(0, len(self.owners) - len(self.targets)),
        }

    def counts(self) -> dict[str, Any]:
        statuses = Counter(t["status"] for t in self.targets.values())
        errors = Counter(
            t["error"]["code"] for t in self.targets.values() if t["status"] == "FAILED"
        )
        return {
            "elapsed_s": round(self.elapsed_s, 1),
            "posts": self.posts,
            "targets": len(self.targets),
            "statuses": dict(statuses),
            "failed_by_code": dict(errors),
            "attempts": sum(t["attempts"] for t in self.targets.values()),
            "ledger_posts": len(self.ledger),
            "ledger_posts_whose_answer_was_lost": sum(
                1 for p in self.ledger if str(p.get("fault") or "").startswith("accept_then")
            ),
            "faults_fired": dict(self.faults_fired),
            **self.figures(),
            "publisher_kills": self.kills,
            "relay_restarts": self.relay_restarts,
            "sse_reconnects": self.reconnects,
            "sweeps": dict(self.sweeps),
            "webhooks": self.webhook_counts(),
        }

    def problems(self) -> list[str]:
        """Every broken invariant, as sentences (empty: the run is clean)."""
        found: list[str] = []
        for key in self.owners:
            if key not in self.targets:
                found.append(f"{key} lost: never read back")
        for key, t in self.targets.items():
            if t["status"] not in TERMINAL:
                found.append(f"{key} not terminal: {t['status']}")
        posted = self._posted()
        found += [f"posted {n} times: {k}" for k, n in posted.items() if n > 1]
        for key, t in self.targets.items():
            if t["status"] == "FAILED" and posted[self._key(key)]:
                found.append(f"{key} FAILED ({t['error']['code']}) while its post exists")
        by_key = {(p["platform"], p["account_id"], p["text"]): p for p in self.ledger}
        for key, t in self.targets.items():
            if t["status"] != "SUCCESS":
                continue
            entry = by_key.get((t["platform"], t["account_id"], self.texts[key]))
            if not t["external_id"]:
                found.append(f"{key} SUCCESS without external id")
            elif entry is None or entry["id"] != t["external_id"]:
                found.append(f"{key} external id {t['external_id']} not in the ledger")
        for key, t in self.targets.items():
            frames = self.frames[self.owners[key]]
            if not any(
                f.event == "target_status"
                and f.data["post_id"] == t["post_id"]
                and f.data["target_id"] == t["target_id"]
                and f.data["version"] >= t["version"]
                and f.data["status"] == t["status"]
                for f in frames
            ):
                found.append(f"{key}: its SSE client never got {t['status']} v{t['version']}")
        for user_id, ids in self.events.items():
            lost = ids - self.delivered(user_id)
            found += [
                f"event {e} of {user_id} never delivered to its webhook" for e in sorted(lost)
            ]
        found += [
            f"an unverified webhook delivery to {u}"
            for u, got in self.webhooks.items()
            if any(d["verified"] is not True for d in got)
        ]
        return found


def second_facebook_page(db: firestore.Client, vault: TokenVault, user_id: str) -> str:
    """Give ``user_id`` a second (sandbox) Facebook page, stored like a real connection."""
    account = str(int(sandbox_account_id(user_id, Platform.FACEBOOK)) + 1)
    conn_id = connection_id(user_id, Platform.FACEBOOK, account)
    now = utcnow()
    record = ConnectionRecord(
        id=conn_id,
        user_id=user_id,
        platform=Platform.FACEBOOK,
        account_id=account,
        account_name=f"Second sandbox page of {user_id}",
        access_token_enc=vault.encrypt(f"sandbox:{account}:second", context=conn_id),
        sandbox=True,
        created_at=now,
        updated_at=now,
    )
    db.collection(CONNECTIONS).document(conn_id).set(record.to_doc())
    return account


def run_chaos(
    stack: Stack, ports: Ports, cfg: ChaosConfig, log: Callable[[str], None] = print
) -> ChaosResult:
    """Run the scenario on a running ``stack`` (state already clean) and collect the result."""
    rng = random.Random(cfg.seed)
    settings = Settings()
    db = firestore.Client(project=settings.google_cloud_project)
    vault = TokenVault.from_settings(settings)
    sandbox = Sandbox.of_stack(ports)
    sandbox.reset(seed=cfg.seed, duplicate_detection=False)  # the ledger must show any double
    for rule in fault_rules(cfg):
        sandbox.fault(**rule)
    result = ChaosResult()
    run_id = f"{cfg.seed}-{time.time_ns() % 10**9}"

    users: dict[str, tuple[ApiClient, list[dict[str, str]]]] = {}
    receivers: dict[str, Receiver] = {}
    for n in range(cfg.users):
        user_id = f"chaos-{run_id}-{n}"
        for platform in (Platform.FACEBOOK, Platform.X):
            ensure_sandbox_connection(
                db, vault=vault, user_id=user_id, platform=platform, now=utcnow()
            )
        platforms = [
            {"platform": "facebook", "accountId": sandbox_account_id(user_id, Platform.FACEBOOK)},
            {"platform": "facebook", "accountId": second_facebook_page(db, vault, user_id)},
            {"platform": "x", "accountId": sandbox_account_id(user_id, Platform.X)},
        ]
        users[user_id] = (ApiClient(ports, user_id), platforms)
        receivers[user_id] = webhook_receiver(users[user_id][0], ports, cfg.webhook_fail_rate)
    relay = f"http://{HOST}:{ports.relay}/events"
    streams = {u: ResumingStream(relay, api.token) for u, (api, _) in users.items()}

    stop = threading.Event()
    sweeper_url = f"http://{HOST}:{ports.sweeper}/"

    def sweeping() -> None:  # the scheduler's stand-in, faster than once a minute
        while not stop.wait(cfg.sweep_every_s):
            try:
                report = requests.post(
                    sweeper_url,
                    json={"sweep": "minutely"},
                    headers={INTERNAL_AUTH_HEADER: DEV_INTERNAL_SECRET},
                    timeout=60,
                ).json()
                result.sweeps.update(
                    {k: v for k, v in report.get("counts", {}).items() if not k.endswith("_found")}
                )
                result.sweeps["runs"] += 1
            except (requests.RequestException, ValueError):
                result.sweeps["unreachable"] += 1

    sweeper = threading.Thread(target=sweeping, daemon=True)
    sweeper.start()
    started = time.monotonic()

    post_ids: dict[str, str] = {}  # post id => user

    def create(n: int) -> None:
        user_id = list(users)[n % len(users)]
        platforms = users[user_id][1]
        api = ApiClient(ports, user_id)  # one HTTP session per thread
        text = f"chaos {run_id} post {n}"
        response = api.post("/posts/multipost", json={"content": text, "platforms": platforms})
        assert response.status_code == 202, response.text
        body = response.json()
        post_ids[body["postId"]] = user_id
        for r in body["results"]:
            key = f"{body['postId']}/{r['targetId']}"
            result.texts[key] = text
            result.owners[key] = user_id

    # Kills and relay restarts spread over the creation phase, where attempts are in flight.
    disruptions = ["publisher"] * cfg.publisher_kills + ["relay"] * cfg.relay_restarts
    rng.shuffle(disruptions)
    marks = sorted(rng.sample(range(cfg.posts // 10, cfg.posts), len(disruptions)))
    with ThreadPoolExecutor(cfg.create_threads) as pool:
        futures: list[Future[Any]] = []
        for n in range(cfg.posts):
            if marks and n == marks[0]:
                marks.pop(0)
                for f in futures:
                    f.result()
                futures = []
                which = disruptions.pop()
                if which == "publisher":
                    stack.restart_service("publisher", sig=signal.SIGKILL)
                    result.kills += 1
                else:
                    stack.restart_service("relay")
                    result.relay_restarts += 1
                log(f"  {which} restarted after {n} posts ({time.monotonic() - started:.0f} s)")
            futures.append(pool.submit(create, n))
        for f in futures:
            f.result()
    result.posts = len(post_ids)
    log(f"  {result.posts} posts created in {time.monotonic() - started:.0f} s")

    pending = dict(post_ids)
    deadline = started + cfg.timeout_s
    while pending and time.monotonic() < deadline:
        for post_id, user_id in list(pending.items()):
            try:
                body = users[user_id][0].get(f"/posts/{post_id}").json()
            except requests.RequestException:  # an overloaded machine drops a keep-alive
                continue  # connection now and then: ask again next round
            for t in body["targets"]:
                result.targets[f"{post_id}/{t['target_id']}"] = t
            if body["status"] in FINAL_POST and all(
                t["status"] in TERMINAL for t in body["targets"]
            ):
                del pending[post_id]
        if pending:
            time.sleep(1.0)
    result.elapsed_s = time.monotonic() - started
    wait_for_webhooks(result, db, receivers, timeout_s=cfg.webhook_timeout_s)
    stop.set()
    sweeper.join(timeout=60)
    time.sleep(2.0)  # the last events reach the streams
    for user_id, stream in streams.items():
        stream.close()
        result.frames[user_id] = stream.all_frames()
        result.reconnects += stream.reconnects
    result.ledger = [p for p in sandbox.ledger() if p["text"].startswith(f"chaos {run_id} ")]
    for rule in sandbox.faults():
        kind = rule["kind"]
        if kind == "latency" and rule["latency_ms"] > cfg.client_timeout_s * 1000:
            kind = "slow_network"
        result.faults_fired[kind] += rule["fired"]
    sandbox.reset()
    return result


def webhook_receiver(api: ApiClient, ports: Ports, fail_rate: float) -> Receiver:
    """Register a webhook endpoint of ``api``'s user at a new sandbox receiver that verifies
    every delivery and answers 503 to ``fail_rate`` of them."""
    receiver = Receiver(ports)
    response = api.post("/webhooks", json={"url": receiver.url, "description": "chaos"})
    assert response.status_code == 201, response.text
    receiver.configure(secrets=[response.json()["secret"]], fail_rate=fail_rate)
    return receiver


def wait_for_webhooks(
    result: ChaosResult,
    db: firestore.Client,
    receivers: dict[str, Receiver],
    *,
    timeout_s: float,
) -> None:
    """Until every event of each user's event log was delivered to its receiver (or the
    deadline): the sweeper keeps running meanwhile, catching up what the fan-out missed."""
    started = time.monotonic()
    while True:
        for user_id, receiver in receivers.items():
            events = db.collection("users").document(user_id).collection("events").stream()
            result.events[user_id] = {snap.id for snap in events}
            result.webhooks[user_id] = receiver.deliveries()
        missing = sum(len(ids - result.delivered(u)) for u, ids in result.events.items())
        if not missing or time.monotonic() - started > timeout_s:
            break
        time.sleep(2.0)
    result.webhook_wait_s = time.monotonic() - started
