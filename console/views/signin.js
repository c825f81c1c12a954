// Sign in as a local dev user (the local stack mints the token; production uses its own IdP).

import * as auth from "../lib/auth.js";
import { h, mount } from "../lib/dom.js";

export function signInView(root, ctx, done) {
  const error = h("p", { class: "field-error", role: "alert", hidden: true });
  const form = h(
    "form",
    { class: "card signin", id: "signin" },
    h("h1", {}, "Sign in"),
    h("p", { class: "muted" }, "Local stack: pick any user name. The console's dev server signs a token for it; a production deployment signs in through its identity provider."),
    h("label", {}, "User", h("input", { name: "user", value: "alice", required: true, autocomplete: "username", pattern: "[\\w.@\\-]{1,64}" })),
    h("label", {}, "Role", h("select", { name: "role" }, ["user", "admin", "monitor", "viewer"].map((r) => h("option", { value: r }, r)))),
    error,
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    if (!ctx.config.devSignIn) {
      error.textContent = "This deployment has no dev sign-in.";
      error.hidden = false;
      return;
    }
    try {
      await auth.signIn(form.user.value.trim(), form.role.value);
      done();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  });
  mount(root, h("div", { class: "center" }, form));
}
