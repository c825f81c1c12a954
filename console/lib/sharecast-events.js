// sharecast-events.js: a live Sharecast event stream that survives, for browsers.
// A dependency-free ES module wrapping EventSource (https://html.spec.whatwg.org/multipage/server-sent-events.html).
//
//   import { connectEvents } from "./lib/sharecast-events.js";
//   const stream = connectEvents({
//     relayUrl: "https://relay.example.com",
//     getCredentials: async () => (await api.post("/auth/sse-token")),  // {token, expiresAt}
//     onEvent: (event) => render(event),            // {type, id, data, stale}
//     onState: (state) => showConnection(state),    // {status, mode, lastEventId, ...}
//   });
//   stream.close();
//
// How it survives every way a stream ends (the relay's stream protocol, README "Console"):
// - Credentials: getCredentials() returns a short-lived relay token; the module hands it to
//   POST {relay}/events/session, which sets an HttpOnly cookie scoped to /events, and opens
//   EventSource(url, {withCredentials: true}): every native reconnect carries the cookie. The
//   cookie is renewed at about half its lifetime. A relay without /events/session (404/405)
//   gets the token in the URL (?token=) instead, renewed by reopening before it expires.
// - Network glitches and streams the server ends (max duration, deploy, overflow, expiry):
//   EventSource reconnects by itself and sends Last-Event-ID.
// - Auth failure (EventSource error with readyState CLOSED, e.g. a 401): fresh credentials and
//   a new EventSource with ?lastEventId=<last id>, after a bounded exponential backoff with
//   full jitter.
// - Client rules: drop event ids already seen; keep the highest `version` per resource (an
//   older version is delivered with `stale: true` and never replaces a newer one); a
//   `snapshot` event means the relay could not replay the gap: it carries the state of the
//   recent posts (replace yours; `more`: reload older ones) and its id is the resume cursor.

/** SSE event names of the Sharecast relay (GET /events.schema.json on the API). */
export const EVENT_TYPES = ["post_status", "target_status", "share_status", "notification", "snapshot"];

const SEEN_IDS_MAX = 5000;

/** The resource an event is about, or null (notifications, snapshots). */
export function resourceKey(type, data) {
  if (!data || typeof data !== "object") return null;
  if (type === "post_status") return `post:${data.post_id}`;
  if (type === "target_status") return `target:${data.post_id}/${data.target_id}`;
  if (type === "share_status") return `share:${data.record_id}`;
  return null;
}

/**
 * Client-side rules, kept apart from EventSource so they can be tested on their own.
 * accept(type, id, data) -> {deliver: bool, stale: bool, duplicate: bool}.
 */
export class EventLedger {
  constructor(maxIds = SEEN_IDS_MAX) {
    this.maxIds = maxIds;
    this.seen = new Set();
    this.versions = new Map();
    this.duplicates = 0;
    this.stale = 0;
  }

  accept(type, id, data) {
    if (id) {
      if (this.seen.has(id)) {
        this.duplicates += 1;
        return { deliver: false, stale: false, duplicate: true };
      }
      this.seen.add(id);
      if (this.seen.size > this.maxIds) this.seen.delete(this.seen.values().next().value);
    }
    const key = resourceKey(type, data);
    const version = data && Number.isInteger(data.version) ? data.version : null;
    if (key === null || version === null) return { deliver: true, stale: false, duplicate: false };
    const known = this.versions.get(key);
    if (known !== undefined && version <= known) {
      this.stale += 1;
      return { deliver: true, stale: true, duplicate: false };
    }
    this.versions.set(key, version);
    return { deliver: true, stale: false, duplicate: false };
  }

  /** Take the versions a `snapshot` shows ({posts: [post_status data + targets]}). */
  absorb(snapshot) {
    for (const post of (snapshot && snapshot.posts) || []) {
      this.raise(resourceKey("post_status", post), post.version);
      for (const target of post.targets || []) this.raise(resourceKey("target_status", target), target.version);
    }
  }

  raise(key, version) {
    if (key === null || !Number.isInteger(version)) return;
    if (!(this.versions.get(key) >= version)) this.versions.set(key, version);
  }

  /** Highest version seen of a resource key (see resourceKey), or undefined. */
  version(key) {
    return this.versions.get(key);
  }
}

/** Milliseconds to wait before reopen number `attempt` (1, 2, ...): full jitter, capped. */
export function backoffDelay(attempt, { baseMs = 1000, maxMs = 30000, random = Math.random } = {}) {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Open the user's event stream. Options:
 * - relayUrl: the relay's base URL (no trailing slash);
 * - getCredentials(): Promise<{token, expiresAt}>, a relay token (the API's POST /auth/sse-token);
 * - onEvent({type, id, data, stale}): every event not seen before (stale: an older version of a
 *   resource than one already delivered);
 * - onState({status, mode, lastEventId, opens, reconnects, reauths, duplicates, stale, error}):
 *   status is "connecting", "open", "reconnecting" (native retry), "reauthenticating" (reopen
 *   with fresh credentials) or "closed";
 * - lastEventId: resume after this id (e.g. kept in sessionStorage across page loads);
 * - types: event names to listen to (default EVENT_TYPES);
 * - backoff: {baseMs, maxMs} of reopens; EventSource, fetch: injectable for tests.
 * Returns {close(), reconnect(), get lastEventId(), get state()}.
 */
export function connectEvents(options) {
  const {
    relayUrl,
    getCredentials,
    onEvent = () => {},
    onState = () => {},
    types = EVENT_TYPES,
    backoff = {},
  } = options;
  const EventSourceImpl = options.EventSource || globalThis.EventSource;
  const fetchImpl = options.fetch || globalThis.fetch.bind(globalThis);
  const base = relayUrl.replace(/\/+$/, "");
  const ledger = new EventLedger();
  const state = {
    status: "connecting",
    mode: null,
    lastEventId: options.lastEventId || null,
    opens: 0,
    reconnects: 0,
    reauths: 0,
    duplicates: 0,
    stale: 0,
    error: null,
    credentialsExpireAt: null,
  };
  let source = null;
  let closed = false;
  let failures = 0;
  let renewTimer = null;
  let reopenTimer = null;
  let token = null;
  let sessionUnsupported = false;

  const report = (patch = {}) => {
    Object.assign(state, patch, { duplicates: ledger.duplicates, stale: ledger.stale });
    onState({ ...state });
  };

  async function startSession(relayToken) {
    // "cookie" when the relay set its session cookie; "token" when it has no cookie sessions
    // (404/405) or could not be asked (a network or CORS failure: tried again at renewal).
    if (sessionUnsupported) return "token";
    let response;
    try {
      response = await fetchImpl(`${base}/events/session`, {
        method: "POST",
        credentials: "include",
        headers: { Authorization: `Bearer ${relayToken}` },
      });
    } catch {
      return "token";
    }
    if (response.status === 404 || response.status === 405) {
      sessionUnsupported = true;
      return "token";
    }
    if (!response.ok) throw new Error(`POST /events/session answered ${response.status}`);
    return "cookie";
  }

  async function obtainCredentials() {
    const creds = await getCredentials();
    if (!creds || !creds.token) throw new Error("getCredentials() returned no token");
    const expiresAt = Date.parse(creds.expiresAt) || Date.now() + 300000;
    const mode = await startSession(creds.token);
    token = creds.token;
    const changed = state.mode !== null && mode !== state.mode;
    report({ mode, credentialsExpireAt: new Date(expiresAt).toISOString() });
    scheduleRenewal(expiresAt);
    return changed;
  }

  function scheduleRenewal(expiresAt) {
    clearTimeout(renewTimer);
    const lifetime = Math.max(0, expiresAt - Date.now());
    // Cookie: renew at half the lifetime (native reconnects always carry a valid cookie).
    // Token in the URL: reopen at 80 % (a URL cannot be changed under a live EventSource).
    const share = state.mode === "cookie" ? 0.5 : 0.8;
    renewTimer = setTimeout(renew, Math.max(1000, lifetime * share));
  }

  async function renew() {
    if (closed) return;
    try {
      const changed = await obtainCredentials();
      if (state.mode === "token" || changed) open();
    } catch (error) {
      report({ error: String(error) });
      renewTimer = setTimeout(renew, backoffDelay(1, backoff));
    }
  }

  function streamUrl() {
    const params = new URLSearchParams();
    if (state.mode === "token" && token) params.set("token", token);
    if (state.lastEventId) params.set("lastEventId", state.lastEventId);
    const query = params.toString();
    return `${base}/events${query ? `?${query}` : ""}`;
  }

  function handle(type, message) {
    if (closed) return;
    let data;
    try {
      data = JSON.parse(message.data);
    } catch {
      report({ error: `unreadable ${type} event` });
      return;
    }
    const id = message.lastEventId || null;
    const verdict = ledger.accept(type, id, data);
    if (type === "snapshot") ledger.absorb(data);
    if (id) state.lastEventId = id;
    if (verdict.deliver) onEvent({ type, id, data, stale: verdict.stale });
    report();
  }

  function open() {
    if (source) source.close();
    const es = new EventSourceImpl(streamUrl(), { withCredentials: state.mode === "cookie" });
    source = es;
    es.onopen = () => {
      if (es !== source) return;
      failures = 0;
      state.opens += 1;
      report({ status: "open", error: null });
    };
    es.onerror = () => {
      if (es !== source || closed) return;
      if (es.readyState === EventSourceImpl.CLOSED) {
        // Fatal for EventSource (a 401 after the credential expired, a 5xx...): reopen with
        // fresh credentials from the last id.
        es.close();
        source = null;
        scheduleReopen();
      } else {
        state.reconnects += 1;
        report({ status: "reconnecting" });
      }
    };
    for (const type of types) es.addEventListener(type, (message) => handle(type, message));
  }

  function scheduleReopen() {
    failures += 1;
    state.reauths += 1;
    report({ status: "reauthenticating" });
    clearTimeout(reopenTimer);
    reopenTimer = setTimeout(async () => {
      if (closed) return;
      try {
        await obtainCredentials();
        open();
      } catch (error) {
        report({ error: String(error) });
        scheduleReopen();
      }
    }, backoffDelay(failures, backoff));
  }

  (async () => {
    report({ status: "connecting" });
    try {
      await obtainCredentials();
      if (!closed) open();
    } catch (error) {
      report({ error: String(error) });
      if (!closed) scheduleReopen();
    }
  })();

  return {
    close() {
      closed = true;
      clearTimeout(renewTimer);
      clearTimeout(reopenTimer);
      if (source) source.close();
      source = null;
      report({ status: "closed" });
    },
    /** Reopen now with fresh credentials from the last id (e.g. after the page was asleep). */
    reconnect() {
      if (closed) return;
      if (source) source.close();
      source = null;
      failures = 0;
      scheduleReopen();
    },
    get lastEventId() {
      return state.lastEventId;
    },
    get state() {
      return { ...state };
    },
  };
}
