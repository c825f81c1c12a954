// Connected network accounts: connect through the network's OAuth consent page (the sandbox's
// locally), come back to /connections/{platform}/callback, disconnect.

import { ago, h, mount, toast } from "../lib/dom.js";
import * as F from "../lib/fields.js";
import { badge } from "./posts.js";

const CONNECTABLE = ["facebook", "instagram", "threads", "linkedin", "x", "youtube"];

export function connectionsView(root, ctx) {
  const list = h("div", { class: "connections", id: "connections" }, h("p", { class: "muted" }, "Loading…"));
  const load = async () => {
    try {
      const conns = F.connections(await ctx.api.get("/connections"));
      mount(list, conns.length ? conns.map((c) => h("div", { class: "card connection", dataset: { platform: c.platform, status: c.status } },
        h("div", { class: "row" }, h("strong", {}, F.networkLabel(c.platform)), badge(c.status)),
        h("p", {}, c.accountName || c.accountId, h("span", { class: "muted small" }, ` · ${c.accountId}`)),
        c.expiresAt ? h("p", { class: "muted small" }, `token renews automatically (expires ${ago(c.expiresAt)})`) : null,
        h("div", { class: "actions" },
          c.status === "needs_reauth" ? h("button", { type: "button", class: "primary small", onclick: () => connect(c.platform) }, "Reconnect") : null,
          h("button", { type: "button", class: "danger small", onclick: async () => {
            try { await ctx.api.del(`/connections/${c.id}`); toast("Disconnected"); load(); } catch (error) { toast(error.message, "error"); }
          } }, "Disconnect")),
      )) : h("p", { class: "muted" }, "No connected accounts yet. Locally every user can also post through a built-in sandbox account per network."));
    } catch (error) {
      mount(list, h("p", { class: "error-text" }, error.message));
    }
  };
  const connect = async (platform) => {
    try {
      const r = await ctx.api.get(`/connections/${platform}/authorize`);
      sessionStorage.setItem("sharecast.oauthReturn", "/connections");
      location.assign(F.authorizationUrl(r));
    } catch (error) {
      toast(error.message, "error");
    }
  };
  mount(root,
    h("div", { class: "section-head" }, h("h1", {}, "Connections")),
    h("section", { class: "card" }, h("h2", {}, "Connect an account"), h("div", { class: "row wrap" }, CONNECTABLE.map((p) => h("button", { type: "button", dataset: { connect: p }, onclick: () => connect(p) }, F.networkLabel(p)))),
      h("p", { class: "muted small" }, "You are sent to the network's consent page and come back here. WhatsApp has no posting API: share links only.")),
    list);
  load();
  return null;
}

export function callbackView(root, ctx, platform) {
  const status = h("p", { class: "muted", id: "oauth-status" }, `Finishing the ${F.networkLabel(platform)} connection…`);
  mount(root, h("section", { class: "card center" }, h("h1", {}, "Connecting"), status));
  const params = new URLSearchParams(location.search);
  const query = {};
  for (const key of ["code", "state", "error", "error_description"]) if (params.get(key)) query[key] = params.get(key);
  ctx.api.get(`/connections/${platform}/callback`, { query }).then(
    (r) => {
      const n = F.connections(r).length;
      toast(`${F.networkLabel(platform)}: ${n} account${n === 1 ? "" : "s"} connected`);
      ctx.navigate(sessionStorage.getItem("sharecast.oauthReturn") || "/connections");
    },
    (error) => mount(status, `Could not connect: ${error.message}`),
  );
  return null;
}
