// The API client: URLs, the caller's token, problems and curl lines.
//
// The token lives in sessionStorage only (this tab, until it closes): it
// is sent in the Authorization header, never put in a URL, a cookie or a
// curl line (those say $TOKEN).

const TOKEN_KEY = 'regapi.token';

export function getToken() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}

export function setToken(t) {
  try {
    if (t) sessionStorage.setItem(TOKEN_KEY, t);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch { /* storage disabled: the token lasts as long as nothing */ }
}

// enc encodes one path segment; ' is escaped too so that URLs can be
// quoted in a shell line.
export function enc(s) {
  // ":" and "@" are fine in a path segment and keep digests readable.
  return encodeURIComponent(s).replace(/'/g, '%27').replace(/%3A/g, ':').replace(/%40/g, '@');
}

// encPath encodes a slash-separated path segment by segment.
export function encPath(p) {
  return p.split('/').map(enc).join('/');
}

// repoAPI is the API path of a repository route: action "tags", "images",
// "files/<ref>/<path>" …; repo may be "" for registry-level routes.
export function repoAPI(registry, repo, action) {
  return '/api/v1/repos/' + enc(registry) + (repo ? '/' + encPath(repo) : '') + '/-/' + action;
}

// withQuery appends the non-empty entries of q to path.
export function withQuery(path, q) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q || {})) {
    if (v !== undefined && v !== null && v !== '') p.set(k, v);
  }
  const s = p.toString().replace(/'/g, '%27');
  return s ? path + '?' + s : path;
}

// ApiError is a failed API call: a problem+json answer, or a network error.
export class ApiError extends Error {
  constructor(status, problem, url) {
    super(problem.title || 'HTTP ' + status);
    this.status = status;
    this.problem = problem;
    this.url = url;
  }
}

function headers() {
  const h = { Accept: 'application/json' };
  const t = getToken();
  if (t) h.Authorization = 'Bearer ' + t;
  return h;
}

// request fetches url (an API path) and returns the Response when it is
// 2xx; otherwise it throws an ApiError carrying the problem.
export async function request(url, opts = {}) {
  let res;
  try {
    res = await fetch(url, { headers: headers(), credentials: 'omit', cache: 'no-cache', signal: opts.signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, { title: 'The server did not answer', detail: String(e.message || e) }, url);
  }
  if (res.ok) return res;
  throw new ApiError(res.status, await readProblem(res), url);
}

// getJSON fetches and decodes a JSON answer.
export async function getJSON(url, opts) {
  const res = await request(url, opts);
  return res.json();
}

// readProblem turns an error answer into {title, detail, code, status},
// whatever its body (a proxy in front may answer HTML).
async function readProblem(res) {
  const p = { status: res.status, title: res.statusText || 'HTTP ' + res.status };
  const ct = res.headers.get('Content-Type') || '';
  if (ct.includes('json')) {
    try {
      const body = await res.json();
      for (const k of ['title', 'detail', 'code', 'status', 'platforms']) {
        if (body && body[k] !== undefined) p[k] = body[k];
      }
    } catch { /* not JSON after all */ }
  }
  const retry = res.headers.get('Retry-After');
  if (retry) p.retryAfter = retry;
  return p;
}

// curlLine is the shell command that gets what url answers. With a token
// it names $TOKEN, never the token.
export function curlLine(url, extra) {
  const parts = ['curl -s'];
  if (extra) parts.push(extra);
  if (getToken()) parts.push('-H "Authorization: Bearer $TOKEN"');
  parts.push("'" + location.origin + url + "'");
  return parts.join(' ');
}
