// Operations: dead letters (targets that finally failed, any user) with retry (admin).

import { h, mount, toast, when } from "../lib/dom.js";
import * as F from "../lib/fields.js";
import { badge } from "./posts.js";

export function adminView(root, ctx) {
  const table = h("div", { id: "dead-letters" }, h("p", { class: "muted" }, "Loading…"));
  let cursor = null;
  const rows = [];
  const draw = (next) => {
    mount(table, rows.length ? h("div", { class: "table" }, rows.map((d) => h("div", { class: "card dead-letter", dataset: { path: d.path } },
      h("div", { class: "row" }, h("strong", {}, F.networkLabel(d.target.platform)), badge(d.target.status), h("span", { class: "muted small" }, `user ${d.userId}`)),
      d.target.error ? h("p", { class: "error-text small" }, `${d.target.error.code}: ${d.target.error.message}`) : null,
      h("p", { class: "muted small" }, `post ${d.target.postId} · ${d.target.attempts} attempts · ${when(d.target.updatedAt)}`),
      h("div", { class: "actions" }, h("button", { type: "button", class: "small", dataset: { action: "retry" }, onclick: async (e) => {
        e.target.disabled = true;
        try {
          await ctx.api.post(`/admin/dead-letters/${encodeURIComponent(d.path)}/retry`);
          toast("Queued for a new attempt");
          rows.splice(rows.indexOf(d), 1);
          draw(cursor);
        } catch (error) { toast(error.message, "error"); e.target.disabled = false; }
      } }, "Retry")))))
      : h("p", { class: "muted" }, "No dead letters: every target either succeeded or is still being tried."),
      next ? h("button", { type: "button", onclick: () => load(next) }, "More") : null);
  };
  const load = async (from) => {
    try {
      const page = F.page(await ctx.api.get("/admin/dead-letters", { query: { cursor: from, limit: 50 } }), F.deadLetter);
      rows.push(...page.items);
      cursor = page.next;
      draw(cursor);
    } catch (error) {
      mount(table, h("p", { class: "error-text" }, error.status === 403 ? "Dead letters need the monitor or admin role." : error.message));
    }
  };
  mount(root, h("div", { class: "section-head" }, h("h1", {}, "Dead letters")), table);
  load(null);
  return null;
}
