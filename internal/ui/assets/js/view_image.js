// /ui/repos/{registry}/{repository…}/-/images/{reference}: one image.
// Its sections load on their own: the inspection (summary, platforms,
// layers, config, history), the referrers and the raw manifest.

import { h, link, table, replace } from './dom.js';
import { getJSON, request, repoAPI, withQuery, enc } from './api.js';
import { apiBox, problemBox, setState, downloadLink } from './common.js';
import { imagePath, filesPath, treePath } from './routes.js';
import { bytes, date, shortDigest, platform } from './format.js';

export async function imageView(view, route, ctx) {
  const { registry, repo, ref, query } = route;
  const plat = query.get('platform') || '';
  document.title = repo + ':' + ref + ' · regapi';
  view.appendChild(h('h1', null, h('span', { class: 'repo' }, repo), h('span', { class: 'ref' }, (ref.includes(':') ? '@' : ':') + ref)));
  const inspectURL = withQuery(repoAPI(registry, repo, 'images/' + enc(ref)), { platform: plat });
  const referrersURL = repoAPI(registry, repo, 'referrers/' + enc(ref));
  const manifestURL = withQuery(repoAPI(registry, repo, 'manifests/' + enc(ref)), { raw: 'true' });
  const extractURL = withQuery(repoAPI(registry, repo, 'extract/' + enc(ref)), { platform: plat });

  const actions = h('p', { class: 'actions' },
    link(withQuery(filesPath(registry, repo, ref, ''), { platform: plat }), 'Browse files'), ' ',
    downloadLink(extractURL, fileName(repo, ref) + '.tar', 'Download filesystem (tar)', 'download-tar'));
  const summary = h('section', { id: 'summary', 'data-state': 'loading' }, h('h2', null, 'Summary'));
  const platforms = h('section', { id: 'platforms', 'data-state': 'loading' });
  const layers = h('section', { id: 'layers', 'data-state': 'loading' }, h('h2', null, 'Layers'));
  const config = h('section', { id: 'config', 'data-state': 'loading' }, h('h2', null, 'Config'));
  const hist = h('section', { id: 'history', 'data-state': 'loading' }, h('h2', null, 'History'));
  const referrers = h('section', { id: 'referrers', 'data-state': 'loading' }, h('h2', null, 'Referrers'), h('p', { class: 'muted' }, 'Loading…'));
  const manifest = h('section', { id: 'manifest', 'data-state': 'loading' }, h('h2', null, 'Manifest'));
  view.append(actions, summary, platforms, layers, config, hist, referrers, manifest);

  await Promise.all([
    getJSON(inspectURL, { signal: ctx.signal }).then((d) => {
      // An index: its entries each carry their details; the sections
      // below the platforms show the default one's (linux/amd64, as the
      // server's files and extract pick) until another is chosen.
      const ps = d.platforms || [];
      const detail = ps.find((p) => platform(p) === 'linux/amd64') || ps[0] || d;
      renderSummary(summary, route, d, inspectURL);
      renderPlatforms(platforms, route, d);
      const note = detail !== d ? h('p', { class: 'muted detail-note' }, 'Of ' + platform(detail) + ': pick another platform above.') : null;
      renderLayers(layers, detail, note);
      renderConfig(config, detail, note && note.cloneNode(true));
      renderHistory(hist, detail, note && note.cloneNode(true));
    }, (e) => {
      failed(summary, e, inspectURL, ctx);
      for (const s of [platforms, layers, config, hist]) s.remove();
    }),
    getJSON(referrersURL, { signal: ctx.signal }).then((d) => renderReferrers(referrers, route, d, referrersURL), (e) => {
      replace(referrers, h('h2', null, 'Referrers'));
      failed(referrers, e, referrersURL, ctx);
    }),
    request(manifestURL, { signal: ctx.signal }).then((res) => res.text()).then((text) => renderManifest(manifest, text, manifestURL), (e) => failed(manifest, e, manifestURL, ctx)),
  ]);
  if (ctx.signal.aborted) return;
  if (route.focus === 'referrers') referrers.scrollIntoView();
  setState(view, summary.getAttribute('data-state'));
}

function failed(section, e, url, ctx) {
  if (e && e.name === 'AbortError') return;
  section.appendChild(problemBox(e, ctx.rerender));
  section.appendChild(apiBox([{ url }]));
  setState(section, 'error');
}

function fileName(repo, ref) {
  return (repo.slice(repo.lastIndexOf('/') + 1) + '-' + ref).replace(/[^A-Za-z0-9._-]/g, '_');
}

// kv is a two-column table of key and value rows, values as text.
function kv(id, rows) {
  return h('div', { class: 'scroll' }, h('table', { id, class: 'kv' }, h('tbody', null,
    rows.filter(([, v]) => v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && !v.length))
      .map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v instanceof Node ? v : (Array.isArray(v) ? v.join(' ') : String(v))))))));
}

function renderSummary(el, route, d, url) {
  const plat = platform(d);
  el.appendChild(kv('summary-table', [
    ['Digest', h('span', { class: 'mono', id: 'image-digest' }, d.digest || '')],
    ['Media type', d.mediaType],
    ['Created', d.created ? h('span', { title: d.created }, date(d.created)) : ''],
    ['Size', d.size !== undefined ? bytes(d.size) + ' (' + d.size + ' bytes)' : ''],
    ['Platform', plat || (d.platforms ? d.platforms.length + ' platforms (an index)' : '')],
    ['Tags', Array.isArray(d.tags) ? d.tags : undefined],
  ]));
  if (route.query.get('platform')) {
    el.appendChild(h('p', null, link(imagePath(route.registry, route.repo, route.ref), 'All platforms of ' + route.ref)));
  }
  if (d.digest) {
    el.appendChild(h('p', null, link(treePath(route.registry, route.repo) + '?digest=' + enc(d.digest), 'Tags that point at this image')));
  }
  el.appendChild(apiBox([{ url }]));
  setState(el, 'ready');
}

function renderPlatforms(el, route, d) {
  const ps = d.platforms || [];
  if (!ps.length) { el.remove(); return; }
  el.appendChild(h('h2', null, 'Platforms'));
  const current = route.query.get('platform') || platform(d);
  el.appendChild(table('platforms-table', ['Platform', 'Digest', 'Created', 'Size'], ps.map((p) => ({
    attrs: platform(p) === current ? { class: 'current' } : null,
    cells: [
      link(imagePath(route.registry, route.repo, route.ref) + '?platform=' + enc(platform(p)), platform(p)),
      h('span', { class: 'mono', title: p.digest || '' }, shortDigest(p.digest)),
      date(p.created), bytes(p.size),
    ],
  }))));
  setState(el, 'ready');
}

function renderLayers(el, d, note) {
  if (note) el.appendChild(note);
  const ls = d.layers || [];
  const total = ls.reduce((n, l) => n + (l.size || 0), 0);
  el.appendChild(h('p', { class: 'muted' }, ls.length + (ls.length === 1 ? ' layer, ' : ' layers, ') + bytes(total) + ' compressed'));
  if (ls.length) {
    el.appendChild(table('layers-table', ['#', 'Digest', 'Media type', 'Size'], ls.map((l, i) => [
      String(i + 1), h('span', { class: 'mono', title: l.digest || '' }, shortDigest(l.digest)), l.mediaType || '', bytes(l.size),
    ])));
  }
  setState(el, 'ready');
}

function renderConfig(el, d, note) {
  if (note) el.appendChild(note);
  const run = kv('run-table', [
    ['Entrypoint', d.entrypoint],
    ['Cmd', d.cmd],
    ['Working dir', d.workingDir],
    ['User', d.user],
    ['Exposed ports', d.exposedPorts],
  ]);
  if (run.querySelector('tr')) el.appendChild(run);
  const labels = Object.entries(d.labels || {}).sort(([a], [b]) => (a < b ? -1 : 1));
  el.appendChild(h('h3', null, 'Labels'));
  el.appendChild(labels.length ? kv('labels-table', labels) : h('p', { class: 'muted' }, 'No labels.'));
  el.appendChild(h('h3', null, 'Environment'));
  const env = d.env || [];
  el.appendChild(env.length ? h('pre', { id: 'env', class: 'block' }, env.join('\n')) : h('p', { class: 'muted' }, 'No variables.'));
  setState(el, 'ready');
}

function renderHistory(el, d, note) {
  if (note) el.appendChild(note);
  const hs = d.history || [];
  if (!hs.length) el.appendChild(h('p', { class: 'muted' }, 'No history.'));
  else {
    el.appendChild(table('history-table', ['Created', 'Created by', 'Layer', 'Comment'], hs.map((x) => [
      date(x.created), h('code', { class: 'wrap' }, x.createdBy || ''), x.emptyLayer ? 'empty' : 'layer', x.comment || '',
    ])));
  }
  setState(el, 'ready');
}

function renderReferrers(el, route, d, url) {
  replace(el, h('h2', null, 'Referrers'));
  const rs = d.referrers || [];
  if (d.source) el.appendChild(h('p', { class: 'muted' }, 'From the registry\'s ' + ({ api: 'referrers API', tags: 'tag schema index' }[d.source] || d.source) + ', for ', h('span', { class: 'mono' }, d.digest || '')));
  if (!rs.length) el.appendChild(h('p', { class: 'muted', id: 'referrers-empty' }, 'No signatures, SBOMs or other artifacts refer to this image.'));
  else {
    el.appendChild(table('referrers-table', ['Artifact type', 'Digest', 'Size', 'Annotations'], rs.map((r) => [
      r.artifactType || r.mediaType || '',
      link(imagePath(route.registry, route.repo, r.digest), shortDigest(r.digest)),
      bytes(r.size),
      annotations(r.annotations),
    ])));
  }
  el.appendChild(apiBox([{ url }]));
  setState(el, 'ready');
}

function annotations(a) {
  const entries = Object.entries(a || {});
  if (!entries.length) return '';
  return h('dl', { class: 'annotations' }, entries.map(([k, v]) => [h('dt', null, k), h('dd', null, String(v))]));
}

function renderManifest(el, text, url) {
  let pretty = text;
  try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch { /* shown as sent */ }
  el.appendChild(h('details', null, h('summary', null, 'Raw manifest (' + bytes(new TextEncoder().encode(text).length) + ')'), h('pre', { class: 'block', id: 'manifest-raw' }, pretty)));
  el.appendChild(apiBox([{ url }]));
  setState(el, 'ready');
}
