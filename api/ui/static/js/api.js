// The API client of the dashboard: the key the login page stored, sent as a Bearer token.

export const ROOT = document.body.dataset.root || "";
const KEY = "forager.key";

export function getKey() {
  return sessionStorage.getItem(KEY) || localStorage.getItem(KEY);
}

export function setKey(key, remember) {
  clearKey();
  (remember ? localStorage : sessionStorage).setItem(KEY, key);
}

export function clearKey() {
  sessionStorage.removeItem(KEY);
  localStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function toLogin() {
  const here = location.pathname + location.search + location.hash;
  location.assign(`${ROOT}/ui/login?next=${encodeURIComponent(here)}`);
}

// GET a path of this API; JSON by default, text with {text: true}. A 401 sends to login.
export async function api(path, { text = false, key = null, signal } = {}) {
  const token = key || getKey();
  if (!token) {
    toLogin();
    throw new ApiError(401, "unauthorized", "not logged in");
  }
  const r = await fetch(ROOT + path, {
    headers: { Authorization: `Bearer ${token}`, Accept: text ? "text/plain" : "application/json" },
    signal,
  });
  if (!r.ok) {
    let body = null;
    try {
      body = await r.json();
    } catch {
      body = null;
    }
    const err = body && body.error ? body.error : {};
    if (r.status === 401 && !key) {
      clearKey();
      toLogin();
    }
    throw new ApiError(r.status, err.code || "error", err.message || `${r.status} ${r.statusText}`);
  }
  return text ? r.text() : r.json();
}

// A link inside the dashboard.
export function ui(path) {
  return `${ROOT}/ui${path}`;
}

// A query string of the given values, empty ones left out.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}
