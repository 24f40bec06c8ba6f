// Contacts Hub API client shared by the Customers tab and its panels (plain ES module, no build step).

/** An HTTP error from the hub: `status`, and the problem document's `detail`/`title` when there is one. */
export class ApiError extends Error {
  constructor(status, message, problem = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
  }
}

/** Talks to `${base}/api/v1` with a bearer token, or with the session cookie (+ X-CSRF-Token on writes). */
export class HubApi {
  constructor({ base, token = "", csrf = "" }) {
    this.base = String(base || location.origin).replace(/\/+$/, "").replace(/\/api\/v1$/, "");
    this.token = token || "";
    this.csrf = csrf || "";
  }

  /** An absolute URL on the hub (paths such as a panel's module_url resolve against the hub, not the host page). */
  resolve(path) {
    return new URL(path, this.base + "/").href;
  }

  url(path, params = {}) {
    const u = new URL(this.base + "/api/v1" + path);
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, String(v));
    }
    return u.href;
  }

  headers(write = false) {
    const h = { Accept: "application/json" };
    if (this.token) h.Authorization = `Bearer ${this.token}`;
    else if (write && this.csrf) h["X-CSRF-Token"] = this.csrf;
    return h;
  }

  async request(method, path, { params, body, signal } = {}) {
    const write = method !== "GET";
    const init = {
      method,
      headers: this.headers(write),
      signal,
      // A token never needs cookies; a cookie session only works on the hub's own origin.
      credentials: this.token ? "omit" : "same-origin",
    };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    let resp;
    try {
      resp = await fetch(this.url(path, params), init);
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new ApiError(0, "The contacts service cannot be reached.");
    }
    const type = resp.headers.get("Content-Type") || "";
    const data = type.includes("json") ? await resp.json().catch(() => null) : null;
    if (!resp.ok) {
      const msg = (data && (data.detail || data.title || data.message)) || `Request failed (${resp.status})`;
      throw new ApiError(resp.status, typeof msg === "string" ? msg : `Request failed (${resp.status})`, data);
    }
    return { data, status: resp.status, headers: resp.headers };
  }

  async get(path, params) {
    return (await this.request("GET", path, { params })).data;
  }

  /** Download a hub URL (e.g. an import's failed rows) with this client's credentials, as a Blob. */
  async blob(url) {
    const resp = await fetch(this.resolve(url), { headers: this.headers(), credentials: this.token ? "omit" : "same-origin" });
    if (!resp.ok) throw new ApiError(resp.status, resp.status === 410 ? "The download link has expired."
      : `Download failed (${resp.status})`);
    return resp.blob();
  }

  async post(path, body) {
    return (await this.request("POST", path, { body })).data;
  }
}

/** Human text for an error, with the usual causes spelled out. */
export function errorText(err) {
  if (err && err.status === 401) return "You are not signed in, or the API token is not valid.";
  if (err && err.status === 403) return "You are not allowed to do this.";
  return (err && err.message) || "Something went wrong.";
}
