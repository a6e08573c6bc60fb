// Parts shared by the views: the API box (URL and curl line), the
// problem box, the token form and downloads.

import { h, replace } from './dom.js';
import { curlLine, getToken, setToken, request, ApiError } from './api.js';

// apiBox shows, for each API call a view makes, its URL (a link to the
// raw answer) and the curl line that gets the same answer.
export function apiBox(calls) {
  return h('div', { class: 'api' },
    calls.map((c) => h('div', { class: 'api-call' },
      h('div', { class: 'api-url' }, h('span', { class: 'label' }, 'API '),
        h('a', { href: c.url, class: 'mono', rel: 'noopener' }, c.url)),
      h('pre', { class: 'curl' }, curlLine(c.url, c.extra)))));
}

// problemBox shows a failed call: the problem's title and detail, its
// status and code, and for a 401 the token field.
export function problemBox(err, onRetry) {
  if (!(err instanceof ApiError)) {
    return h('div', { class: 'problem', role: 'alert' },
      h('h3', { class: 'problem-title' }, 'Something went wrong in the page'),
      h('p', { class: 'problem-detail' }, String(err && err.message || err)));
  }
  const p = err.problem;
  const box = h('div', { class: 'problem', role: 'alert', 'data-status': String(err.status) },
    h('h3', { class: 'problem-title' }, p.title || 'Error'),
    p.detail ? h('p', { class: 'problem-detail' }, p.detail) : null,
    h('p', { class: 'problem-meta muted' },
      err.status ? 'HTTP ' + err.status : 'no answer',
      p.code ? ' · ' : null, p.code ? h('code', { class: 'problem-code' }, p.code) : null,
      p.retryAfter ? ' · retry after ' + p.retryAfter + ' s' : null),
    Array.isArray(p.platforms) && p.platforms.length
      ? h('p', null, 'Platforms this index has: ' + p.platforms.map(platformText).join(', ')) : null);
  if (err.status === 401) {
    box.appendChild(h('p', null, getToken()
      ? 'The token given was not accepted. Give another one:'
      : 'This server needs a token to read this. Give one (it is kept in this tab only):'));
    box.appendChild(tokenForm('problem-token', onRetry));
  } else if (err.status === 403) {
    box.appendChild(h('p', { class: 'muted' }, 'The token in use does not cover this.'));
  } else if ((err.status === 503 || err.status === 0 || err.status === 429) && onRetry) {
    box.appendChild(h('button', { type: 'button', class: 'retry', onclick: () => onRetry() }, 'Retry'));
  }
  return box;
}

function platformText(p) {
  return typeof p === 'string' ? p : [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

// tokenForm asks for a bearer token and keeps it in sessionStorage; then
// calls done (which re-renders the view).
export function tokenForm(id, done) {
  const input = h('input', { type: 'password', id: id + '-input', name: 'token', autocomplete: 'off', spellcheck: 'false', placeholder: 'bearer token', 'aria-label': 'Token' });
  return h('form', { id, class: 'token-form', onsubmit: (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    input.value = '';
    document.dispatchEvent(new Event('regapi:token'));
    if (done) done();
  } }, input, h('button', { type: 'submit', id: id + '-submit' }, 'Use token'));
}

// downloadLink downloads url as filename. Without a token it is a plain
// link: the browser streams the answer to disk. With one, the request
// must carry the Authorization header, which a link cannot: the answer is
// fetched into memory and saved from there (fine for files, slow for a
// whole filesystem; the API or curl is the better road for those).
export function downloadLink(url, filename, label, id) {
  if (!getToken()) return h('a', { href: url, download: filename, class: 'button', id }, label);
  const status = h('span', { class: 'muted' });
  const btn = h('button', { type: 'button', id, onclick: async () => {
    btn.disabled = true;
    replace(status, ' downloading…');
    try {
      const res = await request(url);
      const blob = await res.blob();
      const href = URL.createObjectURL(blob);
      const a = h('a', { href, download: filename });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(href), 60000);
      replace(status);
    } catch (e) {
      replace(status, ' failed: ' + (e.problem ? e.problem.title : e.message));
    } finally {
      btn.disabled = false;
    }
  } }, label);
  return h('span', null, btn, status);
}

// setState marks an element loading, ready or error; the tests wait on it.
export function setState(el, state) {
  el.setAttribute('data-state', state);
}
