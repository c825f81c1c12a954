// Webhook endpoints (docs/webhooks.md): register one (its signing secret is shown once), ping
// it, pause or enable it, delete it; the delivery log of each with redelivery.

import { ago, h, mount, toast, when } from "../lib/dom.js";
import * as F from "../lib/fields.js";
import { badge } from "./posts.js";

export function webhooksView(root, ctx) {
  const list = h("div", { id: "webhooks" }, h("p", { class: "muted" }, "Loading…"));
  const secretBox = h("div", { id: "webhook-secret" });
  const error = h("p", { class: "error-text small", dataset: { errorFor: "url" } });
  const form = h("form", { id: "webhook-form", class: "card" },
    h("h2", {}, "Register an endpoint"),
    h("label", {}, "URL", h("input", { name: "url", type: "url", required: true, placeholder: "https://example.com/hooks/sharecast" })),
    h("label", {}, "Description", h("input", { name: "description", maxlength: 500 })),
    h("label", {}, "Event types (comma-separated; empty: all)", h("input", { name: "eventTypes", placeholder: "target_status:SUCCESS, notification" })),
    error,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "webhook-submit" }, "Register")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    mount(error);
    const data = new FormData(form);
    const eventTypes = String(data.get("eventTypes") || "").split(",").map((s) => s.trim()).filter(Boolean);
    try {
      const created = F.webhookSecret(await ctx.api.post("/webhooks", { url: data.get("url"), description: data.get("description") || "", eventTypes }));
      showSecret(created);
      form.reset();
      load();
    } catch (err) {
      mount(error, err.errors.length ? err.errors.map((p) => `${p.field}: ${p.message}`).join("; ") : err.message);
    }
  });
  const showSecret = ({ endpoint, secret }) => mount(secretBox, h("section", { class: "card notice" },
    h("p", {}, `Signing secret of ${endpoint.url}, shown this once: keep it to verify deliveries.`),
    h("code", { class: "secret", dataset: { endpoint: endpoint.id } }, secret)));
  const act = async (fn, done) => {
    try { await fn(); if (done) toast(done); load(); } catch (err) { toast(err.message, "error"); }
  };
  const card = (e) => {
    const log = h("div", { class: "deliveries" });
    return h("div", { class: "card webhook", dataset: { endpoint: e.id, enabled: String(e.enabled) } },
      h("div", { class: "row" }, h("strong", { class: "url" }, e.url), badge(e.enabled ? "ENABLED" : "DISABLED"), e.scope === "org" ? h("span", { class: "role" }, "org") : null),
      e.description ? h("p", {}, e.description) : null,
      h("p", { class: "muted small" }, `${e.eventTypes.length ? e.eventTypes.join(", ") : "every event type"}${e.lastSuccessAt ? ` · last success ${ago(e.lastSuccessAt)}` : ""}${e.signingSecrets > 1 ? " · rotating secret" : ""}`),
      e.disabledReason ? h("p", { class: "error-text small" }, e.disabledReason) : null,
      e.failingSince && e.enabled ? h("p", { class: "error-text small" }, `failing since ${when(e.failingSince)}`) : null,
      h("div", { class: "actions" },
        h("button", { type: "button", class: "small", dataset: { action: "ping" }, disabled: !e.enabled, onclick: () => act(() => ctx.api.post(`/webhooks/${e.id}/ping`), "Ping queued") }, "Ping"),
        h("button", { type: "button", class: "small", dataset: { action: "log" }, onclick: () => showLog(e, log) }, "Deliveries"),
        h("button", { type: "button", class: "small", dataset: { action: "toggle" }, onclick: () => act(() => ctx.api.patch(`/webhooks/${e.id}`, { enabled: !e.enabled })) }, e.enabled ? "Pause" : "Enable"),
        h("button", { type: "button", class: "small", dataset: { action: "rotate" }, onclick: () => act(async () => showSecret(F.webhookSecret(await ctx.api.post(`/webhooks/${e.id}/rotate-secret`, {}))), "Secret rotated: the old one signs for one more day") }, "Rotate secret"),
        h("button", { type: "button", class: "danger small", dataset: { action: "delete" }, onclick: () => act(() => ctx.api.del(`/webhooks/${e.id}`), "Deleted") }, "Delete")),
      log);
  };
  const showLog = async (e, box) => {
    try {
      const page = F.page(await ctx.api.get(`/webhooks/${e.id}/deliveries`, { query: { limit: 20 } }), F.webhookDelivery);
      mount(box, page.items.length ? h("div", { class: "table" }, page.items.map((d) => h("div", { class: "delivery", dataset: { delivery: d.id, status: d.status } },
        h("div", { class: "row" }, h("span", {}, d.eventType), badge(d.status), h("span", { class: "muted small" }, `${d.attempts} attempt${d.attempts === 1 ? "" : "s"}${d.lastStatusCode ? ` · HTTP ${d.lastStatusCode}` : ""}${d.lastLatencyMs !== null ? ` · ${Math.round(d.lastLatencyMs)} ms` : ""} · ${when(d.createdAt)}`)),
        d.lastError ? h("p", { class: "error-text small" }, d.lastError) : null,
        d.responseExcerpt ? h("code", { class: "small excerpt" }, d.responseExcerpt) : null,
        h("div", { class: "actions" }, h("button", { type: "button", class: "small", dataset: { action: "redeliver" }, disabled: !e.enabled, onclick: () => act(async () => { await ctx.api.post(`/webhooks/${e.id}/deliveries/${d.id}/redeliver`); showLog(e, box); }, "Redelivery queued") }, "Redeliver")))))
        : h("p", { class: "muted small" }, "No deliveries yet."));
    } catch (err) {
      mount(box, h("p", { class: "error-text" }, err.message));
    }
  };
  const load = async () => {
    try {
      const endpoints = F.webhookEndpoints(await ctx.api.get("/webhooks"));
      mount(list, endpoints.length ? endpoints.map(card) : h("p", { class: "muted" }, "No webhook endpoints yet."));
    } catch (err) {
      mount(list, h("p", { class: "error-text" }, err.status === 403 ? "Webhooks need the user or admin role." : err.message));
    }
  };
  mount(root, h("div", { class: "section-head" }, h("h1", {}, "Webhooks")),
    h("p", { class: "muted small" }, "Your server gets every status change, signed per Standard Webhooks. Locally, the sandbox's receiver (/_sandbox/webhooks/{any name} on the sandbox) verifies them and shows what it got."),
    form, secretBox, list);
  load();
  return null;
}
