// The login page: checks a key against the API, then keeps it in this browser.

import { ApiError, ROOT, api, clearKey, setKey } from "../api.js";

function nextUrl() {
  const next = new URLSearchParams(location.search).get("next") || "";
  // Only pages of this dashboard: never an open redirect.
  return next.startsWith(`${ROOT}/ui`) && !next.startsWith("//") ? next : `${ROOT}/ui`;
}

const params = new URLSearchParams(location.search);
if (params.has("logout")) {
  clearKey();
  sessionStorage.removeItem("forager.me");
}

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
form.addEventListener("submit", async (e) => {
  e.preventDefault();
  error.hidden = true;
  const key = document.getElementById("key").value.trim();
  const remember = document.getElementById("remember").checked;
  try {
    const me = await api("/ui/api/me", { key });
    setKey(key, remember);
    sessionStorage.setItem("forager.me", JSON.stringify(me));
    location.assign(nextUrl());
  } catch (err) {
    error.textContent =
      err instanceof ApiError && err.status === 401
        ? "This key is not valid (or was revoked)."
        : err instanceof ApiError && err.status === 403
          ? "This key lacks the read scope."
          : `Could not check the key: ${err.message}`;
    error.hidden = false;
  }
});
document.body.dataset.ready = "1";
