// Who is signed in. Locally the console's own server mints dev user tokens (POST /dev/token,
// which only the local stack has); the token is kept in sessionStorage and minted again when
// it comes within a minute of expiring. A production deployment replaces signIn/refresh with
// its identity provider: the rest of the console only calls getToken().

import { tokenOf } from "./fields.js";

const KEY = "sharecast.session";
const SKEW_MS = 60000;

export function currentSession() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || "null");
  } catch {
    return null;
  }
}

async function mint(user, role) {
  const response = await fetch("/dev/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user, role }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const first = (body.errors || [])[0];
    throw new Error(first ? `${first.field}: ${first.message}` : body.detail || `HTTP ${response.status}`);
  }
  return tokenOf(body);
}

export async function signIn(user, role = "user") {
  const { token, expiresAt } = await mint(user, role);
  const session = { user, role, token, expiresAt };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

/** A valid user token, minted again when close to expiry. Throws when signed out. */
export async function getToken() {
  const session = currentSession();
  if (!session) throw new Error("signed out");
  if (Date.parse(session.expiresAt) - Date.now() < SKEW_MS) {
    return (await signIn(session.user, session.role)).token;
  }
  return session.token;
}
