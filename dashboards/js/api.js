// The API client: the user's token, kept in sessionStorage (gone when the tab closes),
// sent as a Bearer header. The token is never put in a URL query, in the page or in a log:
// errors carry the status and the server's message only.

const TOKEN_KEY = "kvaudit.token";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
  // The role of this token may not see this.
  get forbidden() {
    return this.status === 403;
  }
  // The token is missing, wrong, expired or revoked.
  get unauthorized() {
    return this.status === 401;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value.trim());
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// GET (or `method` with a JSON `body`) on the API; the parsed JSON answer, or an ApiError.
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${token() || ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      redirect: "error",
    });
  } catch (e) {
    throw new ApiError(0, `the service does not answer (${e.message})`);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = (data && (data.error || data.message)) || response.statusText || `HTTP ${response.status}`;
    throw new ApiError(response.status, String(message));
  }
  return data;
}

// A query string from an object, skipping empty values; every value is URL-encoded.
export function query(params) {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

// A path segment, URL-encoded (vault, secret and identity names come from logs).
export function seg(value) {
  return encodeURIComponent(String(value));
}
