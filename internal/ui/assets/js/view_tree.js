// /ui/repos/{registry}[/{path…}]: one level of the repository tree and,
// when the path is a repository, its image table.

import { h, link, table } from './dom.js';
import { getJSON, repoAPI, withQuery } from './api.js';
import { apiBox, problemBox, setState } from './common.js';
import { treePath, imagePath } from './routes.js';
import { bytes, date, shortDigest, platform } from './format.js';

// TABLE_PARAMS are the image table's query parameters, passed from the
// UI's URL to the API's unchanged.
const TABLE_PARAMS = ['sort', 'include', 'exclude', 'semver', 'digest', 'limit', 'last'];

export async function treeView(view, route, ctx) {
  const { registry, repo } = route;
  document.title = (repo || registry) + ' · regapi';
  view.appendChild(h('h1', null, repo ? repo : registry));
  const children = h('section', { id: 'tree', 'data-state': 'loading' });
  const images = repo ? h('section', { id: 'images', 'data-state': 'loading' }) : null;
  if (images) view.appendChild(images);
  view.appendChild(children);

  const treeURL = listURL(registry, repo);
  const tree = settle(getJSON(treeURL, { signal: ctx.signal }));
  const isRepo = repo ? isRepository(registry, repo, ctx) : Promise.resolve(false);
  const tableQuery = {};
  for (const k of TABLE_PARAMS) if (route.query.has(k)) tableQuery[k] = route.query.get(k);
  const tableURL = repo ? withQuery(repoAPI(registry, repo, 'images'), tableQuery) : null;
  const rows = isRepo.then((yes) => (yes ? settle(getJSON(tableURL, { signal: ctx.signal })) : null));

  const t = await tree;
  const r = await rows;
  if (ctx.signal.aborted) return;
  const treeEmpty = t.d && !(t.d.repositories || []).length && !(t.d.prefixes || []).length;
  if (t.e) {
    // A repository the caller may read while the listing below it is
    // denied is still shown.
    if (r && r.d) children.remove();
    else children.appendChild(problemBox(t.e, ctx.rerender));
    setState(children, 'error');
  } else if (treeEmpty && r) {
    children.remove();
  } else if (treeEmpty && repo) {
    // Neither a repository nor a group: say so rather than list nothing.
    children.appendChild(h('div', { class: 'problem', role: 'alert', id: 'nothing-here' },
      h('h3', { class: 'problem-title' }, 'Nothing here'),
      h('p', { class: 'problem-detail' }, 'No repository named ' + repo + ' and none below it in ' + registry + ' (that this token may read).')));
    children.appendChild(apiBox([{ url: treeURL }]));
    setState(children, 'ready');
  } else {
    renderTree(children, route, t.d, treeURL);
  }
  if (images) {
    // The same refusal twice (a 401 or 403 for both calls) is shown once.
    if (!r || (t.e && r.e && t.e.status === r.e.status)) images.remove();
    else if (r.e) { images.appendChild(problemBox(r.e, ctx.rerender)); images.appendChild(apiBox([{ url: tableURL }])); setState(images, 'error'); }
    else renderTable(images, route, r.d, tableURL, ctx);
  }
  setState(view, t.e && !(r && r.d) ? 'error' : 'ready');
}

// settle turns a promise into {d} or {e}.
function settle(p) {
  return p.then((d) => ({ d }), (e) => ({ e }));
}

function listURL(registry, repo) {
  return withQuery(repoAPI(registry, repo, 'repositories'), { delimiter: '/', limit: 1000 });
}

// isRepository says whether repo is a repository (it may also, or only,
// be a prefix of others): its parent's listing names it. Asking the image
// table and reading a 404 would also tell, but would put a failed request
// in the browser's console on every group of the tree. When the parent
// listing cannot tell (denied, or too long), the table is asked anyway.
async function isRepository(registry, repo, ctx) {
  const parent = repo.includes('/') ? repo.slice(0, repo.lastIndexOf('/')) : '';
  try {
    const d = await getJSON(listURL(registry, parent), { signal: ctx.signal });
    return (d.repositories || []).includes(repo) || !!d.next;
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    return true;
  }
}

function renderTree(el, route, d, url) {
  const { registry } = route;
  const repos = d.repositories || [];
  const prefixes = d.prefixes || [];
  el.appendChild(h('h2', null, route.repo ? 'Below ' + route.repo : 'Repositories'));
  el.appendChild(h('p', { class: 'muted', id: 'tree-count' },
    count(prefixes.length, 'group', 'groups') + ', ' + count(repos.length, 'repository', 'repositories') + (d.next ? ' (first 1000)' : '')));
  const rows = [
    ...prefixes.map((p) => ({ attrs: { class: 'prefix' }, cells: [link(treePath(registry, p), lastPart(p) + '/'), 'group'] })),
    ...repos.map((p) => ({ attrs: { class: 'repo' }, cells: [link(treePath(registry, p), lastPart(p)), 'repository'] })),
  ];
  if (rows.length) el.appendChild(table('tree-table', ['Name', 'Kind'], rows));
  el.appendChild(apiBox([{ url }]));
  setState(el, 'ready');
}

function count(n, one, many) {
  return n + ' ' + (n === 1 ? one : many);
}

function lastPart(p) {
  return p.slice(p.lastIndexOf('/') + 1);
}

function renderTable(el, route, d, url, ctx) {
  const { registry, repo, query } = route;
  el.appendChild(h('h2', null, 'Images'));
  el.appendChild(controls(route, ctx));
  const imgs = d.images || [];
  if (d.incomplete) el.appendChild(incompleteNotice(query, ctx));
  if (!imgs.length) {
    el.appendChild(h('p', { class: 'muted', id: 'images-empty' }, 'No tags' + (query.toString() ? ' match.' : '.')));
  } else {
    el.appendChild(table('images-table', ['Tag', 'Digest', 'Created', 'Size', 'Platforms'], imgs.map((im) => (im.error ? failedRow(route, im) : {
      attrs: { 'data-tag': im.tag },
      cells: [
        link(imagePath(registry, repo, im.tag), im.tag),
        h('span', { class: 'mono', title: im.digest || '' }, shortDigest(im.digest)),
        h('span', { title: im.created || '' }, date(im.created)),
        im.size === undefined && (im.platforms || []).length > 1 ? h('span', { class: 'muted', title: 'an index: each platform has its size' }, '—') : bytes(im.size),
        platformsCell(im.platforms),
      ],
    }))));
  }
  const pager = h('p', { class: 'pager' });
  if (query.get('last')) {
    const first = new URLSearchParams(query);
    first.delete('last');
    pager.appendChild(link(withSearch(treePath(registry, repo), first), '« First page'));
  }
  if (d.next) {
    const next = new URL(d.next, location.origin).searchParams;
    pager.appendChild(link(withSearch(treePath(registry, repo), next), 'Next page »'));
  }
  if (pager.childNodes.length) el.appendChild(pager);
  el.appendChild(apiBox([{ url }]));
  setState(el, 'ready');
}

// incompleteNotice says that some tags could not be read: their rows say
// why, and the answer is worth asking for again.
function incompleteNotice(query, ctx) {
  const byRows = ['created', '-created'].includes(query.get('sort')) || query.get('digest');
  return h('div', { class: 'problem', role: 'status', id: 'images-incomplete' },
    h('h3', { class: 'problem-title' }, 'Incomplete'),
    h('p', { class: 'problem-detail' }, 'The registry failed to give the images of some tags; their rows say why.' +
      (byRows ? ' The order by date and the digest filter could not take them into account.' : '')),
    h('button', { type: 'button', class: 'retry', onclick: () => ctx.rerender() }, 'Retry'));
}

// failedRow is the row of a tag the server could not describe: the tag,
// the digest when known, and the problem's code and detail, as text.
function failedRow(route, im) {
  const e = im.error || {};
  return {
    attrs: { 'data-tag': im.tag, 'data-error': e.code || '', class: 'failed' },
    cells: [
      link(imagePath(route.registry, route.repo, im.tag), im.tag),
      h('span', { class: 'mono', title: im.digest || '' }, im.digest ? shortDigest(im.digest) : '—'),
      h('td', { colspan: 3, class: 'row-error' },
        h('code', { class: 'problem-code' }, e.code || 'ERROR'), ' ',
        h('span', { class: 'row-error-detail' }, e.detail || '')),
    ],
  };
}

function withSearch(path, params) {
  const s = params.toString();
  return s ? path + '?' + s : path;
}

function platformsCell(ps) {
  if (!Array.isArray(ps) || !ps.length) return '';
  return h('ul', { class: 'chips' }, ps.map((p) => h('li', { title: (p.digest || '') + (p.size ? ' · ' + bytes(p.size) : '') }, platform(p))));
}

// controls are the sort select and the filter box; they navigate to the
// URL with the new query, from the first page.
function controls(route, ctx) {
  const q = route.query;
  const sort = h('select', { id: 'sort', name: 'sort', 'aria-label': 'Sort' },
    [['name', 'name'], ['semver', 'version, oldest first'], ['-semver', 'version, newest first'], ['created', 'date, oldest first'], ['-created', 'date, newest first']]
      .map(([v, label]) => h('option', { value: v, selected: (q.get('sort') || 'name') === v }, label)));
  // The filter box is a substring, sent as include=.*<escaped>.*; an
  // include= of another form (typed into the URL) is kept and shown.
  const include = q.get('include') || '';
  const m = /^\.\*(.*)\.\*$/.exec(include);
  const substr = m && LITERAL.test(m[1]) ? unescapeRE(m[1]) : null;
  const raw = include && substr === null ? include : '';
  const filter = h('input', { type: 'search', id: 'filter', name: 'filter', placeholder: 'tags containing…', 'aria-label': 'Filter tags',
    value: substr || '', autocomplete: 'off', spellcheck: 'false' });
  const semver = h('input', { type: 'text', id: 'semver', name: 'semver', placeholder: 'versions, e.g. >=1.2 <2', 'aria-label': 'Version constraint', value: q.get('semver') || '', autocomplete: 'off', spellcheck: 'false' });
  const go = () => {
    const next = new URLSearchParams(q);
    next.delete('last');
    set(next, 'sort', sort.value === 'name' ? '' : sort.value);
    set(next, 'include', filter.value ? '.*' + escapeRE(filter.value) + '.*' : raw);
    set(next, 'semver', semver.value.trim());
    ctx.navigate(withSearch(treePath(route.registry, route.repo), next));
  };
  sort.addEventListener('change', go);
  return h('form', { class: 'controls', id: 'table-controls', onsubmit: (e) => { e.preventDefault(); go(); } },
    h('label', null, 'Sort ', sort), filter, semver, h('button', { type: 'submit' }, 'Filter'),
    raw ? h('span', { class: 'muted' }, ' include=', h('code', null, raw)) : null);
}

function set(p, k, v) {
  if (v) p.set(k, v);
  else p.delete(k);
}

// LITERAL matches a regular expression that is an escaped literal.
const LITERAL = /^(?:\\[\\^$.|?*+()[\]{}]|[^\\^$.|?*+()[\]{}])*$/;

function escapeRE(s) {
  return s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

function unescapeRE(s) {
  return s.replace(/\\(.)/g, '$1');
}
