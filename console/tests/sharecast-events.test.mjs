// Unit tests of console/lib/sharecast-events.js with node's test runner and a scripted
// EventSource and fetch (the browser tests run it against the real relay):
//   node --test console/tests/
import assert from "node:assert/strict";
import { test } from "node:test";

import { backoffDelay, connectEvents, EventLedger } from "../lib/sharecast-events.js";

class FakeEventSource {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 2;
  static all = [];
  constructor(url, init) {
    this.url = url;
    this.withCredentials = Boolean(init && init.withCredentials);
    this.readyState = FakeEventSource.CONNECTING;
    this.listeners = {};
    FakeEventSource.all.push(this);
  }
  addEventListener(type, fn) {
    (this.listeners[type] ||= []).push(fn);
  }
  close() {
    this.readyState = FakeEventSource.CLOSED;
  }
  open() {
    this.readyState = FakeEventSource.OPEN;
    this.onopen?.();
  }
  emit(type, id, data) {
    for (const fn of this.listeners[type] || []) fn({ data: JSON.stringify(data), lastEventId: id });
  }
  fail(readyState) {
    this.readyState = readyState;
    this.onerror?.();
  }
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
const until = async (cond, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met");
    await tick(5);
  }
};

function setup(sessionStatus) {
  FakeEventSource.all = [];
  const events = [];
  const sessions = [];
  let issued = 0;
  const stream = connectEvents({
    relayUrl: "http://relay.test/",
    getCredentials: async () => ({ token: `t${++issued}`, expiresAt: new Date(Date.now() + 300000).toISOString() }),
    onEvent: (e) => events.push(e),
    EventSource: FakeEventSource,
    fetch: async (url, init) => {
      sessions.push([url, init.headers.Authorization, init.credentials]);
      return { status: sessionStatus, ok: sessionStatus < 300 };
    },
    backoff: { baseMs: 1, maxMs: 5 },
  });
  return { stream, events, sessions };
}

test("ledger drops seen ids and marks older versions stale", () => {
  const ledger = new EventLedger(3);
  const t = (v) => ({ post_id: "p", target_id: "x-0", version: v });
  assert.deepEqual(ledger.accept("target_status", "a", t(2)), { deliver: true, stale: false, duplicate: false });
  assert.equal(ledger.accept("target_status", "a", t(2)).duplicate, true);
  assert.deepEqual(ledger.accept("target_status", "b", t(1)), { deliver: true, stale: true, duplicate: false });
  assert.equal(ledger.accept("target_status", "c", t(3)).stale, false);
  assert.equal(ledger.accept("notification", "d", { kind: "target_failed", version: 1 }).stale, false);
  ledger.accept("post_status", "e", { post_id: "p", version: 1 });
  assert.equal(ledger.accept("target_status", "a", t(9)).duplicate, false, "bounded: a was forgotten");
});

test("backoff grows, is capped and jittered", () => {
  assert.equal(backoffDelay(1, { baseMs: 100, random: () => 0 }), 50);
  assert.equal(backoffDelay(3, { baseMs: 100, random: () => 1 }), 400);
  assert.equal(backoffDelay(20, { baseMs: 100, maxMs: 1000, random: () => 1 }), 1000);
});

test("cookie session: EventSource with credentials, no token in the URL", async () => {
  const { stream, sessions } = setup(204);
  await until(() => FakeEventSource.all.length === 1);
  const [es] = FakeEventSource.all;
  assert.deepEqual(sessions[0], ["http://relay.test/events/session", "Bearer t1", "include"]);
  assert.equal(es.url, "http://relay.test/events");
  assert.equal(es.withCredentials, true);
  stream.close();
});

test("relay without sessions: ?token=, and an auth failure reopens from the last id", async () => {
  const { stream, events } = setup(404);
  await until(() => FakeEventSource.all.length === 1);
  const first = FakeEventSource.all[0];
  assert.equal(first.url, "http://relay.test/events?token=t1");
  first.open();
  first.emit("target_status", "id-1", { post_id: "p", target_id: "x-0", status: "PENDING", version: 1 });
  first.emit("target_status", "id-1", { post_id: "p", target_id: "x-0", status: "PENDING", version: 1 });
  first.fail(FakeEventSource.CONNECTING); // a network glitch: the browser retries by itself
  assert.equal(stream.state.status, "reconnecting");
  assert.equal(FakeEventSource.all.length, 1);
  first.fail(FakeEventSource.CLOSED); // e.g. a 401: EventSource gives up
  await until(() => FakeEventSource.all.length === 2);
  const second = FakeEventSource.all[1];
  assert.equal(second.url, "http://relay.test/events?token=t2&lastEventId=id-1");
  second.open();
  second.emit("target_status", "id-1", { post_id: "p", target_id: "x-0", status: "PENDING", version: 1 });
  second.emit("target_status", "id-2", { post_id: "p", target_id: "x-0", status: "SUCCESS", version: 3 });
  second.emit("snapshot", "01796185803465055-snapshot", {
    reason: "unknown_last_event_id",
    more: false,
    posts: [{ post_id: "p", status: "PUBLISHED", version: 4, targets: [{ post_id: "p", target_id: "x-0", version: 5 }] }],
  });
  second.emit("target_status", "id-3", { post_id: "p", target_id: "x-0", status: "SUCCESS", version: 4 });
  assert.deepEqual(events.map((e) => [e.type, e.id, e.data.status ?? e.data.reason, e.stale]), [
    ["target_status", "id-1", "PENDING", false],
    ["target_status", "id-2", "SUCCESS", false],
    ["snapshot", "01796185803465055-snapshot", "unknown_last_event_id", false],
    ["target_status", "id-3", "SUCCESS", true], // older than the snapshot's version 5
  ]);
  const state = stream.state;
  assert.equal(state.duplicates, 2);
  assert.equal(state.reauths, 1);
  assert.equal(state.lastEventId, "id-3");
  stream.close();
  assert.equal(second.readyState, FakeEventSource.CLOSED);
});
