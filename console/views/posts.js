// Posts: the list with a live activity feed, and one post with its targets and timeline.

import { ago, h, mount, toast, when } from "../lib/dom.js";
import { networkLabel } from "../lib/fields.js";

export const badge = (status, extra = "") => h("span", { class: `badge s-${String(status || "unknown").toLowerCase()} ${extra}`, dataset: { status: status || "" } }, status ? String(status).replace(/_/g, " ") : "…");

function excerpt(text, n = 140) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

function activityItem(e) {
  const what = e.type === "post_status" ? "Post" : e.type === "share_status" ? `Share · ${networkLabel(e.platform)}` : networkLabel(e.platform);
  return h(
    "li",
    { class: `activity ${e.stale ? "stale" : ""}`, dataset: { eventId: e.id || "", type: e.type } },
    h("span", { class: "time", title: e.at }, when(e.at)),
    h("span", { class: "what" }, what),
    badge(e.status),
    e.attempts ? h("span", { class: "muted" }, ` attempt ${e.attempts}${e.maxAttempts ? `/${e.maxAttempts}` : ""}`) : null,
    e.postId ? h("a", { href: `/posts/${e.postId}`, dataset: { link: "" }, class: "small" }, "open") : null,
  );
}

export function postsView(root, ctx) {
  const list = h("div", { class: "post-list", id: "post-list" });
  const feed = h("ol", { class: "activity-list", id: "activity" });
  const draw = () => {
    const posts = ctx.store.postList();
    mount(
      list,
      posts.length
        ? posts.map((p) =>
            h(
              "a",
              { class: "card post-card", href: `/posts/${p.id}`, dataset: { link: "", postId: p.id } },
              h("div", { class: "row" }, badge(p.status, "post-status"), h("span", { class: "muted small" }, p.scheduledAt && p.status === "SCHEDULED" ? `for ${when(p.scheduledAt)}` : ago(p.updatedAt || p.createdAt))),
              h("p", { class: "content" }, excerpt(p.content || "(no text)")),
              h("div", { class: "chips" }, [...p.targets.values()].map((t) => h("span", { class: `chip s-${t.status.toLowerCase()}`, dataset: { platform: t.platform, status: t.status } }, networkLabel(t.platform), " · ", t.status.toLowerCase()))),
            ),
          )
        : h("div", { class: "card empty" }, h("p", {}, "No posts yet."), h("a", { class: "button primary", href: "/compose", dataset: { link: "" } }, "Compose your first post")),
    );
    const recent = ctx.store.timeline.slice(-40).reverse();
    mount(feed, recent.length ? recent.map(activityItem) : h("li", { class: "muted" }, "Status changes appear here as they happen."));
  };
  mount(
    root,
    h(
      "div",
      { class: "split" },
      h("section", {}, h("div", { class: "section-head" }, h("h1", {}, "Posts"), h("a", { class: "button primary", href: "/compose", dataset: { link: "" } }, "New post")), list),
      h("aside", { class: "card" }, h("h2", {}, "Live activity"), feed),
    ),
  );
  draw();
  return ctx.store.subscribe(draw);
}

function targetCard(ctx, post, t) {
  const actions = [];
  if (t.status === "FAILED") {
    actions.push(
      h("button", {
        type: "button",
        class: "small",
        dataset: { action: "retry", target: t.id },
        onclick: async (e) => {
          e.target.disabled = true;
          try {
            ctx.store.loadPost(await ctx.api.post(`/posts/${post.id}/targets/${t.id}/retry`));
            toast(`Retrying ${networkLabel(t.platform)}`);
          } catch (error) {
            toast(error.message, "error");
            e.target.disabled = false;
          }
        },
      }, "Retry"),
    );
  }
  return h(
    "div",
    { class: "target card", dataset: { target: t.id, platform: t.platform, status: t.status } },
    h("div", { class: "row" }, h("strong", {}, networkLabel(t.platform)), badge(t.status, "target-status")),
    h("dl", { class: "facts" },
      h("dt", {}, "Attempts"), h("dd", { class: "attempts" }, `${t.attempts}${t.maxAttempts ? ` of ${t.maxAttempts}` : ""}`),
      t.nextAttemptAt && !["SUCCESS", "FAILED", "CANCELLED"].includes(t.status) ? [h("dt", {}, "Next attempt"), h("dd", {}, ago(t.nextAttemptAt))] : null,
      t.publishedAt ? [h("dt", {}, "Published"), h("dd", {}, when(t.publishedAt))] : null,
    ),
    t.error ? h("p", { class: "error-text" }, h("code", {}, t.error.code), " ", t.error.message) : null,
    t.externalUrl ? h("a", { class: "published-link", href: t.externalUrl, target: "_blank", rel: "noopener" }, "View on ", networkLabel(t.platform), " ↗") : null,
    actions.length ? h("div", { class: "actions" }, actions) : null,
  );
}

function timelineItem(e) {
  return h(
    "li",
    { class: `step ${e.stale ? "stale" : ""}`, dataset: { eventId: e.id || "", type: e.type, status: e.status || "" } },
    h("span", { class: "dot", "aria-hidden": "true" }),
    h("div", {},
      h("div", { class: "row" },
        h("strong", {}, e.type === "post_status" ? "Post" : networkLabel(e.platform)),
        badge(e.status),
        e.attempts ? h("span", { class: "muted small" }, `attempt ${e.attempts}${e.maxAttempts ? ` of ${e.maxAttempts}` : ""}`) : null,
        h("span", { class: "time muted small", title: e.at }, when(e.at)),
      ),
      e.error ? h("p", { class: "error-text small" }, `${e.error.code}: ${e.error.message}`) : null,
      e.message ? h("p", { class: "small" }, e.message) : null,
      e.status === "RETRYING" && e.nextAttemptAt ? h("p", { class: "muted small" }, `next attempt ${when(e.nextAttemptAt)}`) : null,
      e.externalUrl ? h("a", { href: e.externalUrl, target: "_blank", rel: "noopener", class: "small" }, "published post ↗") : null,
    ),
  );
}

export function postView(root, ctx, postId) {
  let loadError = null;
  const body = h("div", {});
  const act = (label, path, kind = "") =>
    h("button", {
      type: "button",
      class: kind,
      dataset: { action: label.toLowerCase().replace(/\s+/g, "-") },
      onclick: async (e) => {
        e.target.disabled = true;
        try {
          ctx.store.loadPost(await ctx.api.post(path));
        } catch (error) {
          if (error.problem?.current) ctx.store.loadPost(error.problem.current);
          toast(error.message, "error");
        } finally {
          e.target.disabled = false;
        }
      },
    }, label);
  const draw = () => {
    const post = ctx.store.posts.get(postId);
    if (!post || !post.status) {
      mount(body, h("p", { class: loadError ? "error-text" : "muted" }, loadError || "Loading…"));
      return;
    }
    const editable = ["DRAFT", "SCHEDULED"].includes(post.status);
    const steps = ctx.store.postTimeline(postId);
    mount(
      body,
      h("section", { class: "card post-head" },
        h("div", { class: "row" }, badge(post.status, "post-status"), h("span", { class: "muted small" }, post.scheduledAt ? `scheduled for ${when(post.scheduledAt)}` : post.publishedAt ? `published ${when(post.publishedAt)}` : `created ${when(post.createdAt)}`)),
        h("p", { class: "content" }, post.content),
        editable ? h("div", { class: "actions" }, h("a", { class: "button", href: `/posts/${postId}/edit`, dataset: { link: "", action: "edit" } }, "Edit"), act("Publish now", `/posts/${postId}/publish`, "primary"), act("Cancel", `/posts/${postId}/cancel`, "danger")) : null,
      ),
      h("div", { class: "split" },
        h("section", {}, h("h2", {}, "Networks"), h("div", { class: "targets" }, [...post.targets.values()].map((t) => targetCard(ctx, post, t)))),
        h("aside", { class: "card" }, h("h2", {}, "Timeline"), steps.length ? h("ol", { class: "timeline", id: "timeline" }, steps.map(timelineItem)) : h("p", { class: "muted" }, "Status changes since this page opened appear here live.")),
      ),
    );
  };
  mount(root, h("div", { class: "section-head" }, h("a", { href: "/", dataset: { link: "" }, class: "back" }, "← Posts"), h("h1", {}, "Post")), body);
  draw();
  ctx.api.get(`/posts/${postId}`).then((p) => ctx.store.loadPost(p), (error) => {
    loadError = error.status === 404 ? "This post does not exist (or is not yours)." : error.message;
    draw();
  });
  return ctx.store.subscribe(draw);
}
