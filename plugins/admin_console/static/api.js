// Fetch wrapper for /api/v1: same-origin cookies, the session's CSRF token, problem+json errors.
const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || '';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || problem?.message || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export async function request(method, url, { body, headers = {}, form } = {}) {
  const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json', ...headers } };
  if (method !== 'GET' && method !== 'HEAD') opts.headers['X-CSRF-Token'] = csrf();
  if (form) opts.body = form;
  else if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const res = await fetch(url, opts);
  if (res.status === 401) { location.href = '/login?next=' + encodeURIComponent(location.pathname); }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text }; }
  if (!res.ok) throw new ApiError(res.status, data);
  return { data, etag: res.headers.get('ETag'), status: res.status };
}

const API = '/api/v1';
export const get = async (path, params) => {
  const qs = params ? '?' + new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '' && v != null)) : '';
  return (await request('GET', API + path + qs)).data;
};
export const post = async (path, body) => (await request('POST', API + path, { body })).data;
export const patch = async (path, body, headers) => (await request('PATCH', API + path, { body, headers })).data;
export const put = async (path, body) => (await request('PUT', API + path, { body })).data;
export const del = async (path, body) => (await request('DELETE', API + path, { body })).data;
export { API };

/** Field errors from a 422 problem as "field: message" lines. */
export function describeError(err) {
  const p = err?.problem;
  const lines = [err?.message || String(err)];
  const errors = p?.errors || p?.detail?.json || p?.detail;
  if (errors && typeof errors === 'object') {
    const walk = (obj, prefix) => {
      for (const [k, v] of Object.entries(obj)) {
        if (Array.isArray(v) && v.every((x) => typeof x === 'string')) lines.push(`${prefix}${k}: ${v.join(' ')}`);
        else if (v && typeof v === 'object') walk(v, `${prefix}${k}.`);
        else if (typeof v === 'string') lines.push(`${prefix}${k}: ${v}`);
      }
    };
    walk(errors, '');
  }
  return [...new Set(lines)].join('\n');
}
