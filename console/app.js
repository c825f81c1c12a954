// The Sharecast console: boot, routing, the live stream and the shell around the views.

import { createApi } from "./lib/api.js";
import * as auth from "./lib/auth.js";
import { h, mount, toast } from "./lib/dom.js";
import * as F from "./lib/fields.js";
import { checkEvent, eventTypes } from "./lib/schema.js";
import { connectEvents, EVENT_TYPES } from "./lib/sharecast-events.js";
import { Store } from "./lib/store.js";
import { adminView } from "./views/admin.js";
import { composeView } from "./views/compose.js";
import { callbackView, connectionsView } from "./views/connections.js";
import { postsView, postView } from "./views/posts.js";
import { sharesView } from "./views/shares.js";
import { signInView } from "./views/signin.js";
import { webhooksView } from "./views/webhooks.js";

const LAST_ID_KEY = "sharecast.lastEventId";

const ROUTES = [
  [/^\/$/, postsView, "posts"],
  [/^\/compose$/, composeView, "compose"],
  [/^\/posts\/([A-Za-z0-9_-]+)\/edit$/, composeView, "posts"],
  [/^\/posts\/([A-Za-z0-9_-]+)$/, postView, "posts"],
  [/^\/connections\/([a-z]+)\/callback$/, callbackView, "connections"],
  [/^\/connections$/, connectionsView, "connections"],
  [/^\/shares$/, sharesView, "shares"],
  [/^\/webhooks$/, webhooksView, "webhooks"],
  [/^\/admin$/, adminView, "admin"],
];

const ctx = {
  config: null,
  api: null,
  store: new Store(),
  schema: null,
  stream: null,
  streamState: { status: "closed" },
  cleanup: null,
};
window.sharecastConsole = ctx; // for debugging from the browser's console (and the tests)

function navigate(path) {
  if (path !== location.pathname + location.search) history.pushState(null, "", path);
  render();
}
ctx.navigate = navigate;

function shell() {
  const session = auth.currentSession();
  const links = [
    ["/", "Posts", "posts"],
    ["/compose", "Compose", "compose"],
    ["/connections", "Connections", "connections"],
    ["/shares", "Video shares", "shares"],
  ];
  if (session && ["user", "admin"].includes(session.role)) links.push(["/webhooks", "Webhooks", "webhooks"]);
  if (session && ["admin", "monitor"].includes(session.role)) links.push(["/admin", "Admin", "admin"]);
  const nav = document.getElementById("nav");
  mount(nav, links.map(([href, label, key]) => h("a", { href, dataset: { link: "", nav: key } }, label)));
  mount(
    document.getElementById("who"),
    session ? [h("span", { class: "user" }, session.user), session.role !== "user" ? h("span", { class: "role" }, session.role) : null] : null,
  );
  document.getElementById("signout").hidden = !session;
}

function renderLive() {
  const s = ctx.streamState;
  const pill = document.getElementById("live");
  const labels = { open: "Live", connecting: "Connecting", reconnecting: "Reconnecting", reauthenticating: "Reconnecting", closed: "Offline" };
  pill.dataset.status = s.status;
  pill.textContent = labels[s.status] || s.status;
  pill.title = s.status === "open" ? `Live updates (${s.mode} session); last event ${s.lastEventId || "none"}` : s.error || "";
}

export function render() {
  shell();
  if (ctx.cleanup) ctx.cleanup();
  ctx.cleanup = null;
  const view = document.getElementById("view");
  if (!auth.currentSession()) {
    signInView(view, ctx, () => start().then(() => navigate(location.pathname === "/signin" ? "/" : location.pathname + location.search)));
    return;
  }
  for (const [pattern, fn, key] of ROUTES) {
    const match = location.pathname.match(pattern);
    if (match) {
      for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.nav === key);
      ctx.cleanup = fn(view, ctx, ...match.slice(1)) || null;
      return;
    }
  }
  mount(view, h("section", { class: "card empty" }, h("h1", {}, "Not found"), h("a", { href: "/", dataset: { link: "" } }, "Back to posts")));
}

function onEvent(event) {
  if (ctx.schema) {
    const errors = checkEvent(ctx.schema, event);
    if (errors.length) {
      ctx.store.schemaMismatches.push({ type: event.type, id: event.id, errors });
      console.warn("event does not match /events.schema.json", event, errors);
    }
  }
  if (event.id) sessionStorage.setItem(LAST_ID_KEY, event.id);
  if (event.type === "snapshot") {
    // The relay could not replay the gap: it sends the recent posts' state instead.
    for (const post of F.snapshotPosts(event.data)) ctx.store.loadPost(post);
    if (F.snapshotHasMore(event.data)) reloadPosts();
    return;
  }
  ctx.store.applyEvent(event);
  if (event.type === "notification" && !event.stale) toast(F.notification(event.data).message, "error");
}

async function reloadPosts() {
  try {
    const page = await ctx.api.get("/posts", { query: { limit: 50 } });
    for (const p of page.items || []) ctx.store.loadPost(p);
  } catch (error) {
    toast(`Could not load posts: ${error.message}`, "error");
  }
}
ctx.reloadPosts = reloadPosts;

async function start() {
  if (ctx.stream) return;
  const types = eventTypes(ctx.schema) || EVENT_TYPES;
  ctx.stream = connectEvents({
    relayUrl: ctx.config.relayUrl,
    getCredentials: async () => F.tokenOf(await ctx.api.post("/auth/sse-token")),
    onEvent,
    onState: (state) => {
      ctx.streamState = state;
      renderLive();
    },
    lastEventId: sessionStorage.getItem(LAST_ID_KEY),
    types,
  });
  await reloadPosts();
}

function stop() {
  if (ctx.stream) ctx.stream.close();
  ctx.stream = null;
  sessionStorage.removeItem(LAST_ID_KEY);
  ctx.store = new Store();
}

async function boot() {
  ctx.config = await (await fetch("/config.json")).json();
  ctx.api = createApi({ baseUrl: ctx.config.apiUrl, getToken: auth.getToken });
  try {
    ctx.schema = await ctx.api.get("/events.schema.json", { auth: false });
  } catch {
    ctx.schema = null; // the console still works; events are not checked
  }
  document.addEventListener("click", (e) => {
    const a = e.target.closest("a[data-link]");
    if (!a || e.metaKey || e.ctrlKey || e.shiftKey || a.target) return;
    e.preventDefault();
    navigate(a.getAttribute("href"));
  });
  window.addEventListener("popstate", render);
  document.getElementById("signout").addEventListener("click", () => {
    stop();
    auth.signOut();
    navigate("/");
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && ctx.stream && ctx.streamState.status !== "open") ctx.stream.reconnect();
  });
  renderLive();
  if (auth.currentSession()) await start();
  render();
  document.body.dataset.ready = "true";
}

boot().catch((error) => {
  mount(document.getElementById("view"), h("section", { class: "card error" }, h("h1", {}, "The console could not start"), h("p", {}, String(error))));
});
