// Video shares: share a YouTube video as share links (track_only) or as server posts
// (server_post, published like posts), with each network's state kept live by share_status.

import { h, mount, toast, when } from "../lib/dom.js";
import * as F from "../lib/fields.js";
import { showProblems } from "./compose.js";
import { badge } from "./posts.js";

function videoIdOf(text) {
  const value = text.trim();
  const m = value.match(/(?:v=|youtu\.be\/|shorts\/|embed\/)([A-Za-z0-9_-]{11})/);
  return m ? m[1] : value;
}

export function sharesView(root, ctx) {
  let videoId = sessionStorage.getItem("sharecast.video") || "";
  const results = h("div", { id: "share-results" });
  const statusBox = h("div", { id: "share-status" });
  const video = h("input", { name: "video", dataset: { field: "videoId" }, value: videoId, placeholder: "https://youtu.be/dQw4w9WgXcQ or the video id", required: true });
  const mode = h("select", { name: "mode", dataset: { field: "mode" } }, h("option", { value: "track_only" }, "Share links (I post them myself)"), h("option", { value: "server_post" }, "Post for me"));
  const message = h("input", { name: "message", dataset: { field: "message" }, placeholder: "Optional message" });
  const hashtags = h("input", { name: "hashtags", dataset: { field: "hashtags" }, placeholder: "music, live" });
  const force = h("input", { type: "checkbox", name: "force" });
  const nets = h("div", { class: "networks", dataset: { field: "platforms" } }, F.SHARE_NETWORKS.map((p) => h("label", { class: "network-toggle" }, h("input", { type: "checkbox", value: p, checked: ["whatsapp", "x"].includes(p) }), h("span", {}, F.networkLabel(p)))));
  const form = h("form", { id: "share-form", class: "card", novalidate: true },
    h("label", { class: "field" }, "YouTube video", video),
    h("div", { class: "field" }, h("span", { class: "label" }, "Networks"), nets),
    h("div", { class: "row wrap" }, h("label", { class: "field" }, "How", mode), h("label", { class: "field" }, "Message", message), h("label", { class: "field" }, "Hashtags", hashtags)),
    h("label", { class: "check" }, force, " Share again even if already shared"),
    h("div", { class: "field", dataset: { field: "_form" } }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Share")));

  const drawStatus = async () => {
    if (!videoId) return mount(statusBox);
    try {
      const r = await ctx.api.get(`/videos/${encodeURIComponent(videoId)}/share-status`);
      const live = [...ctx.store.shares.values()].filter((s) => s.videoId === videoId);
      const rows = (r.platforms || []).map(F.share).map((s) => {
        const fresher = live.find((l) => l.platform === s.platform);
        return fresher ? { ...s, ...fresher } : s;
      });
      mount(statusBox, h("h2", {}, `Shares of ${videoId}`), h("div", { class: "targets" }, rows.map((s) => h("div", { class: "card target", dataset: { platform: s.platform, status: s.status || "" } },
        h("div", { class: "row" }, h("strong", {}, F.networkLabel(s.platform)), s.status ? badge(s.status.toUpperCase()) : h("span", { class: "muted small" }, "not shared")),
        s.mode ? h("p", { class: "muted small" }, `${s.mode === "server_post" ? "posted by Sharecast" : "share link"} · ${s.attempts} attempt${s.attempts === 1 ? "" : "s"}${s.sharedAt ? ` · ${when(s.sharedAt)}` : ""}`) : null,
        s.error ? h("p", { class: "error-text small" }, s.error) : null,
        s.externalRef ? h("p", { class: "small" }, `post ${s.externalRef}`) : null,
        s.status === "failed" && s.mode === "server_post" ? h("button", { type: "button", class: "small", onclick: async () => {
          try { await ctx.api.post(`/videos/${encodeURIComponent(videoId)}/share/${s.platform}/retry`); toast("Posting again"); drawStatus(); } catch (error) { toast(error.message, "error"); }
        } }, "Retry") : null))));
    } catch (error) {
      mount(statusBox, h("p", { class: "error-text" }, error.message));
    }
  };

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    videoId = videoIdOf(video.value);
    sessionStorage.setItem("sharecast.video", videoId);
    const platforms = [...nets.querySelectorAll("input:checked")].map((i) => i.value);
    const body = { platforms, mode: mode.value, force: force.checked };
    if (message.value.trim()) body.message = message.value.trim();
    const tags = hashtags.value.split(/[,\s]+/).map((t) => t.trim()).filter(Boolean);
    if (tags.length) body.hashtags = tags;
    try {
      const r = await ctx.api.post(`/videos/${encodeURIComponent(videoId)}/share`, body, { headers: { "Idempotency-Key": crypto.randomUUID() } });
      showProblems(form, [], []);
      mount(results, h("section", { class: "card" }, h("h2", {}, "Result"), h("ul", { class: "plain" }, (r.results || []).map(F.shareResult).map((x) => h("li", { dataset: { platform: x.platform } },
        h("strong", {}, F.networkLabel(x.platform)), " ",
        x.error ? h("span", { class: "error-text" }, x.error) : badge((x.status || "").toUpperCase()),
        x.alreadyShared ? h("span", { class: "muted small" }, " already shared") : null,
        x.intentUrl ? [" ", h("a", { href: x.intentUrl, target: "_blank", rel: "noopener", class: "button small" }, "Open share link ↗")] : null)))));
      drawStatus();
    } catch (error) {
      showProblems(form, error.errors.length ? error.errors : [{ field: "_form", message: error.message }], []);
    }
  });
  mount(root, h("div", { class: "section-head" }, h("h1", {}, "Video shares")), form, results, statusBox);
  drawStatus();
  let known = ctx.store.timeline.length;
  return ctx.store.subscribe(() => {
    const fresh = ctx.store.timeline.slice(known);
    known = ctx.store.timeline.length;
    if (fresh.some((e) => e.type === "share_status" && e.videoId === videoId)) drawStatus();
  });
}
