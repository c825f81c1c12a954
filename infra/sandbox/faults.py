"""Fault injection: rules set through ``/_sandbox/faults`` and the in-band text trigger.

A rule matches a request by platform, account, text and operation; it then *fires* with its
``probability`` (drawn from one seedable RNG) and is consumed after ``times`` firings. For one
request, every firing ``latency`` rule adds its delay and the first firing error rule decides the
outcome; later error rules are not evaluated (and not consumed). See ``README.md``.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

FaultKind = Literal[
    "latency",
    "server_error",
    "rate_limit",
    "duplicate",
    "token_expired",
    "permanent",
    "permission_denied",
    "policy_blocked",
    "usage_capped",
    "accept_then_drop",
    "accept_then_hang",
    "accept_then_garble",
    "container_error",
]
Operation = Literal["publish", "read", "any"]

ALL_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
#: Kinds after which the post IS recorded; only the response is lost, late or emptied.
RESPONSE_LOSS_KINDS: frozenset[str] = frozenset(
    {"accept_then_drop", "accept_then_hang", "accept_then_garble"}
)
#: How long ``accept_then_hang`` hangs when the rule gives no ``latency_ms``.
DEFAULT_HANG_S = 60.0

TRANSIENT_TRIGGER = re.compile(r"#sandbox-fail-transient-(\d+)")


class FaultRuleSpec(BaseModel):
    """A rule as posted to ``POST /_sandbox/faults``. ``None`` filters match anything.

    ``account_id``: Facebook page id, or X user id (derived from the bearer token, or the
    ``{id}`` of ``/2/users/{id}/tweets`` for reads). ``operation``: ``publish`` (default: create
    calls only), ``read`` (lookups used by reconciliation) or ``any``. ``latency_ms``: delay
    before the response (for ``accept_then_hang``: how long it hangs). ``retry_after_s``: the wait
    a ``rate_limit`` fault announces, seconds. ``duplicate_check: false`` turns duplicate detection
    off for the requests the rule fires on.
    """

    model_config = ConfigDict(extra="forbid")

    platform: str | None = None
    account_id: str | None = None
    text_contains: str | None = None
    operation: Operation = "publish"
    kind: FaultKind
    times: int | None = Field(default=None, ge=1)
    probability: float = Field(default=1.0, ge=0.0, le=1.0)
    latency_ms: int = Field(default=0, ge=0, le=600_000)
    retry_after_s: int = Field(default=60, ge=0, le=86_400 * 31)
    duplicate_check: bool = True


@dataclass
class FaultRule:
    """An installed rule: its spec, id and how many firings are left (``None``: unlimited)."""

    id: str
    spec: FaultRuleSpec
    remaining: int | None
    fired: int = 0

    @property
    def hang_s(self) -> float:
        """Seconds an ``accept_then_hang`` rule holds the response."""
        return self.spec.latency_ms / 1000 if self.spec.latency_ms else DEFAULT_HANG_S

    def to_json(self) -> dict[str, Any]:
        """The control-API shape: the spec plus ``id``, ``remaining`` and ``fired``."""
        return {
            "id": self.id,
            **self.spec.model_dump(),
            "remaining": self.remaining,
            "fired": self.fired,
        }


@dataclass
class Plan:
    """What the matching rules decided for one request."""

    delay_s: float = 0.0
    error: FaultRule | None = None
    duplicate_check: bool = True
    fired: list[str] = field(default_factory=list)


class FaultBook:
    """The installed rules, in insertion order, and the RNG their probabilities draw from."""

    def __init__(self, seed: int | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._next_id = 1
        self.seed = 0
        self._rng = random.Random()
        self.reseed(seed)

    def reseed(self, seed: int | None) -> int:
        """Restart the RNG from ``seed`` (a fresh random seed if ``None``); returns the seed."""
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
        self._rng = random.Random(self.seed)
        return self.seed

    def add(self, spec: FaultRuleSpec) -> FaultRule:
        """Install a rule after the existing ones."""
        rule = FaultRule(id=f"f{self._next_id}", spec=spec, remaining=spec.times)
        self._next_id += 1
        self._rules.append(rule)
        return rule

    def rules(self) -> list[FaultRule]:
        """Every installed rule, exhausted ones included."""
        return list(self._rules)

    def remove(self, rule_id: str) -> bool:
        """Remove one rule; ``False`` if there is none with that id."""
        before = len(self._rules)
        self._rules = [r for r in self._rules if r.id != rule_id]
        return len(self._rules) < before

    def clear(self) -> int:
        """Remove every rule; returns how many there were."""
        count = len(self._rules)
        self._rules.clear()
        return count

    def plan(
        self,
        *,
        platform: str,
        account_id: str | None,
        text: str | None,
        operation: Literal["publish", "read"],
        supported: frozenset[str],
    ) -> Plan:
        """Evaluate the rules for one request, consuming those that fire.

        ``supported``: the kinds the platform can render (e.g. ``usage_capped`` is X-only); a rule
        whose kind the platform cannot render never matches it.
        """
        plan = Plan()
        for rule in self._rules:
            spec = rule.spec
            is_error = spec.kind != "latency"
            if is_error and plan.error is not None:
                continue
            if not _matches(rule, platform, account_id, text, operation, supported):
                continue
            if spec.probability < 1.0 and self._rng.random() >= spec.probability:
                continue
            rule.fired += 1
            if rule.remaining is not None:
                rule.remaining -= 1
            plan.fired.append(rule.id)
            if not spec.duplicate_check:
                plan.duplicate_check = False
            if not is_error:
                plan.delay_s += spec.latency_ms / 1000
                continue
            plan.error = rule
            if spec.kind != "accept_then_hang":
                plan.delay_s += spec.latency_ms / 1000
        return plan


def _matches(
    rule: FaultRule,
    platform: str,
    account_id: str | None,
    text: str | None,
    operation: str,
    supported: frozenset[str],
) -> bool:
    spec = rule.spec
    if rule.remaining is not None and rule.remaining <= 0:
        return False
    if spec.kind not in supported:
        return False
    if spec.platform is not None and spec.platform != platform:
        return False
    if spec.account_id is not None and spec.account_id != account_id:
        return False
    if spec.text_contains is not None and (text is None or spec.text_contains not in text):
        return False
    if spec.operation not in ("any", operation):
        return False
    return not (operation == "read" and spec.kind == "duplicate")


class InBandTriggers:
    """``#sandbox-fail-transient-N`` in a post's text: its first N attempts fail transiently.

    Attempts are counted per (platform, account, exact text); ``clear`` (on reset) forgets them.
    """

    def __init__(self) -> None:
        self._attempts: dict[tuple[str, str, str], int] = {}

    def should_fail(self, platform: str, account_id: str, text: str) -> bool:
        """Count this attempt and say whether it must fail."""
        match = TRANSIENT_TRIGGER.search(text)
        if match is None:
            return False
        key = (platform, account_id, text)
        seen = self._attempts.get(key, 0)
        if seen >= int(match.group(1)):
            return False
        self._attempts[key] = seen + 1
        return True

    def clear(self) -> None:
        """Forget every counter."""
        self._attempts.clear()
