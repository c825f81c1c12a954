// The API client: JSON over fetch with the user's bearer token; problem+json errors become
// ApiError with the problem's fields (RFC 9457) and its errors[] entries.

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.code = this.problem.code || null;
    this.errors = Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

/** createApi({baseUrl, getToken}) -> {get, post, patch, del, request}. */
export function createApi({ baseUrl, getToken }) {
  const base = baseUrl.replace(/\/+$/, "");

  async function request(method, path, { json, query, headers = {}, auth = true } = {}) {
    const url = new URL(base + path);
    for (const [k, v] of Object.entries(query || {})) {
      if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, v);
    }
    const init = { method, headers: { Accept: "application/json", ...headers } };
    if (auth) init.headers.Authorization = `Bearer ${await getToken()}`;
    if (json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(json);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      throw new ApiError(0, { title: "Network error", detail: `cannot reach the API (${error.message})` });
    }
    const text = await response.text();
    let body = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = { detail: text.slice(0, 200) };
      }
    }
    if (!response.ok) throw new ApiError(response.status, body);
    return body;
  }

  return {
    request,
    get: (path, opts) => request("GET", path, opts),
    post: (path, json, opts = {}) => request("POST", path, { ...opts, json }),
    patch: (path, json, opts = {}) => request("PATCH", path, { ...opts, json }),
    del: (path, opts) => request("DELETE", path, opts),
  };
}
