// Compose (or edit) one post for several networks, with per-network overrides, media uploaded
// straight to Storage with a progress bar, a schedule or a draft; the API's 422 errors[] are
// shown next to the fields they name.

import { h, mount, toast } from "../lib/dom.js";
import * as F from "../lib/fields.js";
import { uploadMedia } from "../lib/upload.js";

const INSTAGRAM_TYPES = ["", "FEED", "REELS", "STORIES", "CAROUSEL"];

function localToIso(value) {
  if (!value) return null;
  const d = new Date(value); // datetime-local is the browser's local time
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function isoToLocal(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Show 422 errors[] on the fields they name; returns how many found no field. */
export function showProblems(form, entries, targetsOrder) {
  clearProblems(form);
  let unplaced = 0;
  for (const raw of entries) {
    const e = F.problemEntry(raw);
    let field = e.field;
    let message = e.message;
    if (e.target !== null && !/^platforms\[\d+\]/.test(field)) field = `platforms[${e.target}]${field && field !== "platforms" ? `.${field}` : ""}`;
    const m = field.match(/^platforms\[(\d+)\]\.content$/);
    const override = m && form.querySelector(`[data-field="${field}"]`);
    if (m && (!override || !override.value.trim())) {
      // The network checked the post's own text: show it there, naming the network.
      field = "content";
      message = `${F.networkLabel(targetsOrder[Number(m[1])])}: ${message}`;
    }
    let el = null;
    for (let key = field; key; key = key.replace(/(\.[^.[\]]+|\[\d+\])$/, "")) {
      el = form.querySelector(`[data-field="${CSS.escape(key)}"]`);
      if (el) break;
      if (!/(\.[^.[\]]+|\[\d+\])$/.test(key)) break;
    }
    if (!el) {
      el = form.querySelector('[data-field="_form"]');
      unplaced += 1;
      message = field ? `${field}: ${message}` : message;
    }
    el.setAttribute("aria-invalid", "true");
    el.classList.add("invalid");
    const holder = el.closest(".field") || el.parentElement;
    holder.append(h("p", { class: "field-error", role: "alert", dataset: { errorFor: el.dataset.field, code: e.code } }, message));
  }
  const first = form.querySelector(".field-error");
  if (first) first.scrollIntoView({ block: "center", behavior: "smooth" });
  return unplaced;
}

function clearProblems(form) {
  for (const el of form.querySelectorAll(".field-error")) el.remove();
  for (const el of form.querySelectorAll(".invalid")) {
    el.classList.remove("invalid");
    el.removeAttribute("aria-invalid");
  }
}

function networkPanel(net, accounts) {
  const panel = h(
    "fieldset",
    { class: "override", dataset: { network: net.id }, hidden: true },
    h("legend", {}, `${net.label} options`),
    accounts.length
      ? h("label", { class: "field" }, "Account", h("select", { name: "accountId", dataset: { role: "accountId" } }, h("option", { value: "" }, "Default (sandbox) account"), accounts.map((c) => h("option", { value: c.accountId }, c.accountName || c.accountId))))
      : null,
    h("label", { class: "field" }, `Text for ${net.label} (optional)`, h("textarea", { rows: 2, dataset: { role: "content" }, placeholder: "Leave empty to use the text above" })),
    net.title ? h("label", { class: "field" }, "Title", h("input", { dataset: { role: "title" }, maxlength: 100 })) : null,
    net.title ? h("label", { class: "field" }, "Description", h("textarea", { rows: 2, dataset: { role: "description" } })) : null,
    net.id === "instagram" ? h("label", { class: "field" }, "Type", h("select", { dataset: { role: "mediaType" } }, INSTAGRAM_TYPES.map((t) => h("option", { value: t }, t || "Automatic")))) : null,
  );
  return panel;
}

export function composeView(root, ctx, editId = null) {
  const uploads = []; // {file, mediaId, status, loaded, total, el}
  const counters = h("div", { class: "counters muted small" });
  const content = h("textarea", { name: "content", rows: 5, dataset: { field: "content" }, placeholder: "What do you want to share?", required: false });
  const netsBox = h("div", { class: "networks", dataset: { field: "platforms" } });
  const panels = h("div", { class: "overrides" });
  const mediaList = h("ul", { class: "uploads", dataset: { field: "media" } });
  const fileInput = h("input", { type: "file", id: "media-input", accept: "image/*,video/*", multiple: true });
  const when = h("select", { name: "when", dataset: { role: "when" } }, h("option", { value: "now" }, "Publish now"), h("option", { value: "schedule" }, "Schedule"), h("option", { value: "draft" }, "Save as draft"));
  const scheduleAt = h("input", { type: "datetime-local", name: "scheduleAt", dataset: { field: "scheduleAt" }, hidden: true });
  const allowLate = h("input", { type: "checkbox", name: "allowLate" });
  const submit = h("button", { type: "submit", class: "primary", id: "submit-post" }, "Publish now");
  const formError = h("div", { class: "field", dataset: { field: "_form" } });
  const checks = new Map();
  const panelOf = new Map();

  const updateCounters = () => {
    const text = content.value;
    mount(counters, [...checks].filter(([, c]) => c.checked).map(([id]) => {
      const net = F.NETWORKS.find((n) => n.id === id);
      if (!net.limit) return null;
      const over = [...text].length > net.limit;
      return h("span", { class: over ? "over" : "" }, `${net.label} ${[...text].length}/${net.limit}`);
    }));
  };
  const updateWhen = () => {
    scheduleAt.hidden = when.value !== "schedule";
    submit.textContent = { now: "Publish now", schedule: "Schedule", draft: "Save draft" }[when.value];
  };
  when.addEventListener("change", updateWhen);
  content.addEventListener("input", updateCounters);

  const form = h(
    "form",
    { id: "compose", novalidate: true },
    h("section", { class: "card" }, h("label", { class: "field" }, h("span", { class: "label" }, "Text"), content), counters),
    h("section", { class: "card" }, h("h2", {}, "Networks"), netsBox, panels),
    editId ? null : h("section", { class: "card" }, h("h2", {}, "Media"), h("label", { class: "dropzone" }, fileInput, h("span", {}, "Add images or a video — uploaded straight to Cloud Storage")), mediaList),
    h("section", { class: "card" }, h("h2", {}, "When"), h("div", { class: "row wrap" }, when, h("label", { class: "field" }, scheduleAt)), h("label", { class: "check" }, allowLate, " Publish even if it runs late")),
    formError,
    h("div", { class: "actions sticky" }, submit),
  );

  const drawUploads = () => {
    mount(mediaList, uploads.map((u) =>
      h("li", { class: `upload ${u.status}`, dataset: { name: u.file.name, status: u.status, mediaId: u.mediaId || "", progressEvents: u.events } },
        h("span", { class: "name" }, u.file.name),
        h("progress", { class: "upload-progress", max: 100, value: u.total ? Math.round((100 * u.loaded) / u.total) : 0 }),
        h("span", { class: "small muted" }, u.status === "uploading" ? `${Math.round((100 * u.loaded) / (u.total || 1))} %` : u.status),
        u.status !== "uploading" ? h("button", { type: "button", class: "ghost small", onclick: () => { uploads.splice(uploads.indexOf(u), 1); drawUploads(); } }, "Remove") : null,
        u.error ? h("p", { class: "field-error" }, u.error) : null,
      )));
  };

  fileInput.addEventListener("change", () => {
    for (const file of fileInput.files) {
      const u = { file, mediaId: null, status: "uploading", loaded: 0, total: file.size, maxSeen: 0, events: 0 };
      uploads.push(u);
      uploadMedia(ctx.api, file, (loaded, total) => {
        u.loaded = loaded;
        u.total = total;
        u.events += 1;
        drawUploads();
      }).then(
        (m) => { u.mediaId = m.id; u.status = m.status === "UPLOADED" ? "uploaded" : "failed"; drawUploads(); },
        (error) => { u.status = "failed"; u.error = error.message; drawUploads(); },
      );
    }
    fileInput.value = "";
    drawUploads();
  });

  const values = () => {
    const targets = [];
    for (const [id, check] of checks) {
      if (!check.checked) continue;
      const panel = panelOf.get(id);
      const read = (role) => panel.querySelector(`[data-role="${role}"]`)?.value?.trim() || "";
      targets.push({ platform: id, accountId: read("accountId"), content: read("content"), title: read("title"), description: read("description"), mediaType: read("mediaType") });
    }
    return {
      content: content.value,
      targets,
      mediaIds: uploads.filter((u) => u.mediaId && u.status === "uploaded").map((u) => u.mediaId),
      scheduleAt: when.value === "schedule" ? localToIso(scheduleAt.value) : null,
      draft: when.value === "draft",
      allowLate: allowLate.checked,
    };
  };

  const indexFields = (targets) => {
    // errors[] name targets by their index in `platforms`: label each panel's inputs so.
    for (const el of panels.querySelectorAll("[data-field]")) delete el.dataset.field;
    targets.forEach((t, i) => {
      const panel = panelOf.get(t.platform);
      panel.dataset.field = `platforms[${i}]`;
      for (const el of panel.querySelectorAll("[data-role]")) el.dataset.field = `platforms[${i}].${el.dataset.role}`;
    });
  };

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearProblems(form);
    if (uploads.some((u) => u.status === "uploading")) {
      toast("Wait until the uploads finish.", "warn");
      return;
    }
    const v = values();
    indexFields(v.targets);
    submit.disabled = true;
    try {
      if (editId) {
        const body = F.postBody(v, { patch: true });
        ctx.store.loadPost(await ctx.api.patch(`/posts/${editId}`, body));
        toast("Post updated");
        ctx.navigate(`/posts/${editId}`);
      } else {
        const created = await ctx.api.post("/posts/multipost", F.postBody(v), { headers: { "Idempotency-Key": crypto.randomUUID() } });
        const id = F.createdPostId(created);
        toast(v.draft ? "Draft saved" : v.scheduleAt ? "Post scheduled" : "Publishing…");
        ctx.navigate(`/posts/${id}`);
      }
    } catch (error) {
      if (error.errors.length) {
        showProblems(form, error.errors, v.targets.map((t) => t.platform));
      } else {
        showProblems(form, [{ field: "_form", message: error.message }], []);
      }
    } finally {
      submit.disabled = false;
    }
  });

  const head = h("div", { class: "section-head" }, h("h1", {}, editId ? "Edit post" : "Compose"));
  mount(root, head, h("p", { class: "muted" }, "Loading…"));

  ctx.api.get("/connections").then(F.connections, () => []).then(async (conns) => {
    for (const net of F.NETWORKS) {
      const check = h("input", { type: "checkbox", value: net.id, name: "network" });
      const panel = networkPanel(net, conns.filter((c) => c.platform === net.id && c.status === "active"));
      check.addEventListener("change", () => { panel.hidden = !check.checked; updateCounters(); });
      checks.set(net.id, check);
      panelOf.set(net.id, panel);
      netsBox.append(h("label", { class: "network-toggle", dataset: { network: net.id } }, check, h("span", {}, net.label)));
      panels.append(panel);
    }
    if (editId) {
      const post = F.post(await ctx.api.get(`/posts/${editId}`));
      content.value = post.content ?? "";
      for (const t of post.targets) {
        const check = checks.get(t.platform);
        if (check) { check.checked = true; panelOf.get(t.platform).hidden = false; }
      }
      when.value = post.status === "DRAFT" ? "draft" : post.scheduledAt ? "schedule" : "now";
      scheduleAt.value = isoToLocal(post.scheduledAt);
      submit.dataset.edit = "true";
    } else {
      for (const id of ["facebook", "x"]) { checks.get(id).checked = true; panelOf.get(id).hidden = false; }
    }
    updateWhen();
    updateCounters();
    mount(root, head, form);
    form.dataset.ready = "true";
  });
  return null;
}
