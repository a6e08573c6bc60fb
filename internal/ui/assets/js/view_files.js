// /ui/repos/{registry}/{repository…}/-/files/{reference}/{path…}: the
// image's filesystem. A directory is listed; a text file is shown as text
// (never as HTML) up to VIEW_LIMIT bytes; anything can be downloaded, and
// so can the whole filesystem or the directory as a tar.

import { h, link, table, replace } from './dom.js';
import { request, repoAPI, withQuery, enc, encPath } from './api.js';
import { apiBox, problemBox, setState, downloadLink } from './common.js';
import { filesPath, imagePath } from './routes.js';
import { bytes, mode } from './format.js';

// VIEW_LIMIT is the largest file shown in the page; larger ones are only
// downloaded (the browser would struggle with a huge <pre>).
const VIEW_LIMIT = 1 << 20;

export async function filesView(view, route, ctx) {
  const { registry, repo, ref, query } = route;
  const plat = query.get('platform') || '';
  const path = route.path.replace(/^\/+/, '');
  document.title = '/' + path + ' · ' + repo + ':' + ref + ' · regapi';
  view.appendChild(h('h1', { class: 'path' }, pathCrumbs(route, path, plat)));
  const url = withQuery(repoAPI(registry, repo, 'files/' + enc(ref) + '/' + encPath(path)), { platform: plat });
  const body = h('section', { id: 'entry', 'data-state': 'loading' });
  view.appendChild(body);
  let res;
  try {
    res = await request(url, { signal: ctx.signal });
  } catch (e) {
    if (e.name === 'AbortError') return;
    body.appendChild(problemBox(e, ctx.rerender));
    body.appendChild(apiBox([{ url }]));
    setState(body, 'error');
    setState(view, 'error');
    return;
  }
  const resolved = res.headers.get('X-Regapi-Resolved-Path');
  const norm = (x) => x.replace(/\/+$/, '') || '/';
  if (resolved && norm(resolved) !== norm('/' + path)) {
    body.appendChild(h('p', { class: 'muted', id: 'resolved' }, 'A link: this is ', h('code', null, resolved), '.'));
  }
  // A directory is answered as JSON; a file with a sniffed type, never
  // application/json (the sniffer calls JSON text/plain).
  const ct = res.headers.get('Content-Type') || '';
  if (ct.startsWith('application/json')) {
    renderDir(body, route, path, plat, await res.json(), url);
  } else {
    await renderFile(body, route, path, plat, res, url, ctx);
  }
  setState(body, 'ready');
  setState(view, 'ready');
}

// pathCrumbs links each directory of path.
function pathCrumbs(route, path, plat) {
  const parts = path.split('/').filter(Boolean);
  const items = [link(withQuery(filesPath(route.registry, route.repo, route.ref, ''), { platform: plat }), '/')];
  parts.forEach((p, i) => {
    const isLast = i === parts.length - 1;
    const sub = parts.slice(0, i + 1).join('/') + (isLast && !path.endsWith('/') ? '' : '/');
    items.push(isLast ? h('span', null, p) : link(withQuery(filesPath(route.registry, route.repo, route.ref, sub), { platform: plat }), p));
    if (!isLast) items.push('/');
  });
  return items;
}

function renderDir(el, route, path, plat, d, url) {
  const dir = path.replace(/\/*$/, '/').replace(/^\/$/, '');
  // Directories first, then by name.
  const entries = (d.entries || []).slice().sort((a, b) => (b.type === 'dir') - (a.type === 'dir') || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const extractURL = withQuery(repoAPI(route.registry, route.repo, 'extract/' + enc(route.ref)), { path: dir ? '/' + dir.replace(/\/$/, '') : '', platform: plat });
  const base = (route.repo.slice(route.repo.lastIndexOf('/') + 1) + '-' + route.ref + (dir ? '-' + dir.replace(/\/$/, '') : '')).replace(/[^A-Za-z0-9._-]/g, '_');
  el.appendChild(h('p', { class: 'actions' },
    link(imagePath(route.registry, route.repo, route.ref) + (plat ? '?platform=' + enc(plat) : ''), 'Image'), ' ',
    downloadLink(extractURL, base + '.tar', dir ? 'Download this directory (tar)' : 'Download filesystem (tar)', 'download-tar')));
  el.appendChild(h('p', { class: 'muted', id: 'dir-count' }, entries.length + (entries.length === 1 ? ' entry' : ' entries')));
  el.appendChild(table('files-table', ['Name', 'Size', 'Mode', 'Link'], entries.map((e) => ({
    attrs: { 'data-name': e.name, 'data-type': e.type },
    cells: [
      link(withQuery(filesPath(route.registry, route.repo, route.ref, dir + e.name + (e.type === 'dir' ? '/' : '')), { platform: plat }), e.name + (e.type === 'dir' ? '/' : '')),
      e.type === 'dir' ? '' : bytes(e.size),
      h('span', { class: 'mono' }, mode(e.mode, e.type)),
      e.linkTarget ? h('span', { class: 'mono' }, '→ ' + e.linkTarget) : '',
    ],
  }))));
  el.appendChild(apiBox([{ url }, { url: extractURL, extra: '-o ' + base + '.tar' }]));
}

async function renderFile(el, route, path, plat, res, url, ctx) {
  const size = Number(res.headers.get('Content-Length'));
  const name = path.slice(path.lastIndexOf('/') + 1) || 'file';
  el.appendChild(h('p', { class: 'actions' },
    h('span', { id: 'file-size' }, Number.isFinite(size) ? bytes(size) + ' (' + size + ' bytes)' : ''), ' ',
    downloadLink(url, safeName(name), 'Download', 'download-file')));
  if (Number.isFinite(size) && size > VIEW_LIMIT) {
    res.body && res.body.cancel();
    el.appendChild(h('p', { class: 'muted', id: 'file-too-large' }, 'Larger than ' + bytes(VIEW_LIMIT) + ': download it to read it.'));
  } else {
    const buf = await readAtMost(res, VIEW_LIMIT + 1);
    if (ctx.signal.aborted) return;
    const text = decodeText(buf);
    if (buf.length > VIEW_LIMIT) {
      el.appendChild(h('p', { class: 'muted', id: 'file-too-large' }, 'Larger than ' + bytes(VIEW_LIMIT) + ': download it to read it.'));
    } else if (text === null) {
      el.appendChild(h('p', { class: 'muted', id: 'file-binary' }, 'A binary file (' + (res.headers.get('Content-Type') || 'unknown type') + '): download it to look inside.'));
    } else {
      // textContent: whatever the file holds, it is shown, not run.
      el.appendChild(h('pre', { class: 'block file', id: 'file-content' }, text));
    }
  }
  el.appendChild(apiBox([{ url, extra: '-o ' + safeName(name) }]));
}

// readAtMost reads up to limit bytes of the body and cancels the rest.
async function readAtMost(res, limit) {
  const reader = res.body.getReader();
  const chunks = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    n += value.length;
    if (n >= limit) { reader.cancel(); break; }
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) { out.set(c, off); off += c.length; }
  return out;
}

// decodeText returns the bytes as text when they are UTF-8 without NUL
// bytes (how tools tell text from binary), else null.
function decodeText(buf) {
  if (buf.indexOf(0) >= 0) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return null;
  }
}

function safeName(s) {
  return s.replace(/[^A-Za-z0-9._-]/g, '_') || 'file';
}
