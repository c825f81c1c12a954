// The one module that knows the API's and the events' field names. Everything else in the
// console uses the view shapes returned here, so a renamed field (snake_case -> camelCase)
// changes this file only. Both spellings are read where a rename is announced.

const pick = (obj, ...names) => {
  for (const name of names) if (obj && obj[name] !== undefined) return obj[name];
  return null;
};

/** Networks a post can target, in the order the console shows them. */
export const NETWORKS = [
  { id: "facebook", label: "Facebook", limit: 63206 },
  { id: "x", label: "X", limit: 280 },
  { id: "instagram", label: "Instagram", limit: 2200, needsMedia: true },
  { id: "threads", label: "Threads", limit: 500 },
  { id: "linkedin", label: "LinkedIn", limit: 3000 },
  { id: "youtube", label: "YouTube", title: true, needsMedia: true },
];
/** Networks a video may be shared to (WhatsApp: share link only). */
export const SHARE_NETWORKS = ["facebook", "x", "linkedin", "threads", "instagram", "youtube", "whatsapp"];

export const networkLabel = (id) => NETWORKS.find((n) => n.id === id)?.label || (id === "whatsapp" ? "WhatsApp" : id);

export function targetError(e) {
  if (!e) return null;
  return {
    code: e.code,
    message: e.message,
    retryable: pick(e, "retryable"),
    retryAfterS: pick(e, "retry_after_s", "retryAfterS"),
    attempts: pick(e, "attempts"),
    maxAttempts: pick(e, "max_attempts", "maxAttempts"),
  };
}

/** A target from GET /posts/{id}, a dead letter or a target_status event. */
export function target(t) {
  return {
    postId: pick(t, "post_id", "postId"),
    id: pick(t, "target_id", "targetId"),
    platform: t.platform,
    accountId: pick(t, "account_id", "accountId"),
    status: t.status,
    attempts: pick(t, "attempts") ?? 0,
    maxAttempts: pick(t, "max_attempts", "maxAttempts"),
    nextAttemptAt: pick(t, "next_attempt_at", "nextAttemptAt"),
    externalId: pick(t, "external_id", "externalId"),
    externalUrl: pick(t, "external_url", "externalUrl"),
    error: targetError(pick(t, "error")),
    publishedAt: pick(t, "published_at", "publishedAt"),
    version: pick(t, "version"),
    updatedAt: pick(t, "updated_at", "updatedAt"),
  };
}

/** A post from GET /posts or GET /posts/{id}. */
export function post(p) {
  return {
    id: pick(p, "postId", "post_id", "id"),
    status: p.status,
    content: pick(p, "content"), // null in a snapshot (it carries statuses only)
    scheduledAt: pick(p, "scheduledAt", "schedule_at"),
    publishedAt: pick(p, "publishedAt", "published_at"),
    createdAt: pick(p, "createdAt", "created_at"),
    updatedAt: pick(p, "updatedAt", "updated_at"),
    version: pick(p, "version"),
    targets: (pick(p, "targets") || []).map(target),
  };
}

/** The posts of a `snapshot` event (post_status data with its targets). */
export const snapshotPosts = (d) => (pick(d, "posts") || []);
export const snapshotHasMore = (d) => Boolean(pick(d, "more"));

/** post_status event data -> a partial post. */
export function postEvent(d) {
  return {
    id: pick(d, "post_id", "postId"),
    status: d.status,
    version: d.version,
    scheduledAt: pick(d, "schedule_at", "scheduleAt"),
    publishedAt: pick(d, "published_at", "publishedAt"),
    updatedAt: pick(d, "updated_at", "updatedAt"),
  };
}

/** share_status event data, or one entry of share-status. */
export function share(d) {
  return {
    recordId: pick(d, "record_id", "recordId"),
    videoId: pick(d, "video_id", "videoId"),
    platform: d.platform,
    status: d.status,
    mode: pick(d, "mode"),
    shared: pick(d, "shared"),
    attempts: pick(d, "attempt_count", "attemptCount") ?? 0,
    externalRef: pick(d, "external_ref", "externalRef"),
    error: pick(d, "error_message", "errorMessage"),
    sharedAt: pick(d, "shared_at", "sharedAt", "lastSharedAt"),
    version: pick(d, "version"),
    updatedAt: pick(d, "updated_at", "updatedAt"),
  };
}

/** One result of POST /videos/{id}/share. */
export function shareResult(r) {
  return {
    platform: r.platform,
    status: r.status,
    alreadyShared: pick(r, "alreadyShared", "already_shared"),
    recordId: pick(r, "record_id", "recordId"),
    intentUrl: pick(r, "intent_url", "intentUrl"),
    error: r.error ? r.error.message : null,
  };
}

/** notification event data. */
export function notification(d) {
  return {
    kind: d.kind,
    message: d.message,
    postId: pick(d, "post_id", "postId"),
    targetId: pick(d, "target_id", "targetId"),
    platform: d.platform,
    connectionId: pick(d, "connection_id", "connectionId"),
  };
}

/** The key of the resource an event is about, for the timeline's grouping by post. */
export function eventPostId(type, d) {
  if (type === "post_status" || type === "target_status" || type === "notification") return pick(d, "post_id", "postId");
  return null;
}

/**
 * Body of POST /posts/multipost or PATCH /posts/{id} from the compose form's values:
 * {content, targets: [{platform, accountId, content, title, description, mediaType}],
 *  mediaIds, scheduleAt (ISO or null), draft, allowLate}.
 */
export function postBody(form, { patch = false } = {}) {
  const platforms = form.targets.map((t) => {
    const out = { platform: t.platform };
    if (t.accountId) out.accountId = t.accountId;
    if (t.content) out.content = t.content;
    if (t.title) out.title = t.title;
    if (t.description) out.description = t.description;
    if (t.mediaType) out.mediaType = t.mediaType;
    return out;
  });
  const body = { content: form.content, platforms };
  if (!patch) {
    body.media = form.mediaIds.map((id) => ({ mediaId: id }));
    if (form.allowLate) body.allowLate = true;
    if (form.draft) body.draft = true;
    if (form.scheduleAt) body.scheduleAt = form.scheduleAt;
  } else {
    body.scheduleAt = form.scheduleAt || null;
    body.draft = Boolean(form.draft);
  }
  return body;
}

export const createdPostId = (r) => pick(r, "postId", "post_id");

export const uploadUrlBody = (file, kind) => ({ fileName: file.name || "upload", mimeType: file.type, size: file.size, kind });

/** The upload ticket of POST /media/upload-url. */
export function uploadTicket(r) {
  return { mediaId: r.mediaId, url: pick(r, "uploadUrl", "upload_url"), method: r.method || "PUT", headers: r.headers || {} };
}

export function media(m) {
  return { id: pick(m, "mediaId", "media_id"), fileName: pick(m, "fileName"), kind: m.kind, mimeType: pick(m, "mimeType"), size: m.size, status: m.status, url: m.url || null, failure: m.failure || null };
}

export function connection(c) {
  return { id: c.id, platform: c.platform, accountId: pick(c, "accountId", "account_id"), accountName: pick(c, "accountName", "account_name"), status: c.status, expiresAt: pick(c, "expiresAt", "expires_at") };
}

export const connections = (r) => (pick(r, "connections") || []).map(connection);
export const authorizationUrl = (r) => pick(r, "authorizationUrl", "authorization_url");

export function deadLetter(d) {
  return { path: pick(d, "targetPath", "target_path"), userId: pick(d, "userId", "user_id"), target: target(pick(d, "target")) };
}

export const page = (r, map) => ({ items: (pick(r, "items") || []).map(map), next: pick(r, "nextCursor", "next_cursor") });

/** {token, expiresAt} of POST /auth/sse-token (and of the console's dev sign-in). */
export const tokenOf = (r) => ({ token: r.token, expiresAt: pick(r, "expiresAt", "expires_at") });

/**
 * One entry of a problem's errors[] as {field, target, code, message}; `field` is canonical
 * "platforms[0].content", whether the API sent a field path, a dotted path or a JSON pointer.
 */
export function problemEntry(e) {
  let raw = pick(e, "field", "pointer", "path") ?? "";
  if (Array.isArray(raw)) raw = raw.join(".");
  raw = String(raw).replace(/^#?\//, "").replace(/\//g, ".").replace(/^body\./, "");
  const field = raw.replace(/\.(\d+)(?=\.|$)/g, "[$1]");
  const t = pick(e, "target");
  return { field, target: Number.isInteger(t) ? t : null, code: e.code || "", message: e.message || e.detail || "" };
}

/** A webhook endpoint from GET /webhooks (never its secret). */
export function webhookEndpoint(e) {
  return {
    id: e.id,
    url: e.url,
    description: pick(e, "description") || "",
    eventTypes: pick(e, "eventTypes", "event_types") || [],
    scope: pick(e, "scope"),
    enabled: Boolean(pick(e, "enabled")),
    disabledReason: pick(e, "disabledReason", "disabled_reason"),
    failingSince: pick(e, "failingSince", "failing_since"),
    lastSuccessAt: pick(e, "lastSuccessAt", "last_success_at"),
    signingSecrets: pick(e, "signingSecrets", "signing_secrets"),
  };
}
export const webhookEndpoints = (r) => (pick(r, "items") || []).map(webhookEndpoint);
/** POST /webhooks or rotate-secret: the endpoint and its secret, shown once. */
export const webhookSecret = (r) => ({ endpoint: webhookEndpoint(pick(r, "endpoint")), secret: pick(r, "secret") });

/** One delivery of an endpoint's log. */
export function webhookDelivery(d) {
  return {
    id: d.id,
    messageId: pick(d, "messageId", "message_id"),
    eventType: pick(d, "eventType", "event_type"),
    status: d.status,
    attempts: pick(d, "attempts") ?? 0,
    round: pick(d, "round"),
    nextAttemptAt: pick(d, "nextAttemptAt", "next_attempt_at"),
    lastStatusCode: pick(d, "lastStatusCode", "last_status_code"),
    lastLatencyMs: pick(d, "lastLatencyMs", "last_latency_ms"),
    lastError: pick(d, "lastError", "last_error"),
    responseExcerpt: pick(d, "responseExcerpt", "response_excerpt") || "",
    createdAt: pick(d, "createdAt", "created_at"),
  };
}
