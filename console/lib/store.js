// What the console shows, fed by the API (loads) and the event stream (changes). A resource
// only moves forward: a load or an event with a lower version than the one held is ignored.

import * as F from "./fields.js";

export class Store {
  constructor() {
    this.posts = new Map(); // id -> post view with targets: Map(id -> target view)
    this.timeline = []; // every status change received, newest last
    this.shares = new Map(); // record id -> share view
    this.notifications = [];
    this.schemaMismatches = [];
    this.listeners = new Set();
    this.pending = false;
  }

  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed() {
    if (this.pending) return;
    this.pending = true;
    queueMicrotask(() => {
      this.pending = false;
      for (const fn of this.listeners) fn(this);
    });
  }

  postOf(id) {
    if (!this.posts.has(id)) this.posts.set(id, { id, status: null, content: "", version: 0, targets: new Map() });
    return this.posts.get(id);
  }

  /** Merge a post read from the API. */
  loadPost(apiPost) {
    const view = F.post(apiPost);
    const held = this.postOf(view.id);
    const content = view.content ?? held.content;
    if ((view.version ?? 0) >= (held.version ?? 0)) Object.assign(held, { ...view, content, targets: held.targets });
    held.content = content ?? "";
    for (const t of view.targets) this.mergeTarget(t);
    this.changed();
    return held;
  }

  mergeTarget(t) {
    const post = this.postOf(t.postId);
    const held = post.targets.get(t.id);
    if (!held || (t.version ?? 0) >= (held.version ?? 0)) post.targets.set(t.id, t);
  }

  /** Apply one stream event ({type, id, data, stale}). */
  applyEvent({ type, id, data, stale }) {
    const at = data.updated_at || data.updatedAt || new Date().toISOString();
    if (type === "post_status") {
      const p = F.postEvent(data);
      const held = this.postOf(p.id);
      if (!stale && (p.version ?? 0) >= (held.version ?? 0)) Object.assign(held, { status: p.status, version: p.version, scheduledAt: p.scheduledAt, publishedAt: p.publishedAt, updatedAt: p.updatedAt });
      this.timeline.push({ id, at, type, postId: p.id, status: p.status, version: p.version, stale });
    } else if (type === "target_status") {
      const t = F.target(data);
      if (!stale) this.mergeTarget(t);
      this.timeline.push({ id, at, type, postId: t.postId, targetId: t.id, platform: t.platform, status: t.status, attempts: t.attempts, maxAttempts: t.maxAttempts, error: t.error, externalUrl: t.externalUrl, nextAttemptAt: t.nextAttemptAt, version: t.version, stale });
    } else if (type === "share_status") {
      const s = F.share(data);
      const held = this.shares.get(s.recordId);
      if (!stale && (!held || (s.version ?? 0) >= (held.version ?? 0))) this.shares.set(s.recordId, s);
      this.timeline.push({ id, at, type, videoId: s.videoId, platform: s.platform, status: s.status, attempts: s.attempts, error: s.error, version: s.version, stale });
    } else if (type === "notification") {
      const n = F.notification(data);
      this.notifications.push({ ...n, id, at });
      this.timeline.push({ id, at, type, postId: n.postId, targetId: n.targetId, platform: n.platform, status: n.kind, message: n.message });
    }
    this.changed();
  }

  /** Timeline entries of one post, in the order they happened (event ids are time-ordered). */
  postTimeline(postId) {
    return this.timeline.filter((e) => e.postId === postId).sort((a, b) => (a.id || "").localeCompare(b.id || ""));
  }

  /** Posts known, newest first (by id, which is time-ordered, else by update time). */
  postList() {
    return [...this.posts.values()].filter((p) => p.status).sort((a, b) => (b.createdAt || b.updatedAt || "").localeCompare(a.createdAt || a.updatedAt || ""));
  }
}
