// The UI's entry point: client-side routing, the breadcrumbs and the
// access bar. Each view renders into a fresh container, so an answer that
// arrives after the user moved on lands in a detached node.

import { h, replace, link } from './dom.js';
import { getToken, setToken } from './api.js';
import { parseRoute, registryPath, treePath, imagePath } from './routes.js';
import { problemBox, tokenForm } from './common.js';
import { registriesView } from './view_registries.js';
import { treeView } from './view_tree.js';
import { imageView } from './view_image.js';
import { filesView } from './view_files.js';

const views = { registries: registriesView, tree: treeView, image: imageView, files: filesView };

let current = null;

// navigate shows path (with its query) and records it in the history.
export function navigate(path, replaceState) {
  if (replaceState) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

function render() {
  if (current) current.abort();
  const ctrl = new AbortController();
  current = ctrl;
  const route = parseRoute(location.pathname, location.search);
  const main = document.getElementById('main');
  const view = h('div', { id: 'view', 'data-view': route.view, 'data-state': 'loading', 'data-path': location.pathname + location.search });
  replace(main, view);
  main.setAttribute('data-state', 'ready');
  crumbs(route);
  renderAccess();
  const fn = views[route.view];
  const ctx = { signal: ctrl.signal, navigate, rerender: render };
  if (!fn) {
    document.title = 'Not found · regapi';
    view.appendChild(h('div', { class: 'problem', role: 'alert' },
      h('h3', { class: 'problem-title' }, 'No such view'),
      h('p', { class: 'problem-detail' }, 'Nothing is shown at ' + location.pathname + '. Start at ', link('/ui/', 'the registries'), '.')));
    view.setAttribute('data-state', 'error');
    return;
  }
  Promise.resolve().then(() => fn(view, route, ctx)).catch((e) => {
    if (e && e.name === 'AbortError') return;
    view.appendChild(problemBox(e, render));
    view.setAttribute('data-state', 'error');
  });
}

// crumbs shows where the view is: registry, each path component, and the
// image or file path.
function crumbs(route) {
  const nav = document.getElementById('crumbs');
  const items = [];
  if (route.registry) {
    items.push(link(registryPath(route.registry), route.registry));
    const parts = route.repo ? route.repo.split('/') : [];
    parts.forEach((p, i) => items.push(link(treePath(route.registry, parts.slice(0, i + 1).join('/')), p)));
    if (route.ref) items.push(link(imagePath(route.registry, route.repo, route.ref), ':' + route.ref));
    if (route.view === 'files') items.push(h('span', null, 'files'));
  }
  replace(nav, items.flatMap((x, i) => (i ? [h('span', { class: 'sep', 'aria-hidden': 'true' }, '/'), x] : [x])));
}

// renderAccess shows whether requests go out with a token, and lets the
// user give or forget one.
function renderAccess() {
  const el = document.getElementById('access');
  const has = !!getToken();
  const form = h('div', { class: 'access-form' });
  const toggle = h('button', { type: 'button', id: 'access-toggle', 'aria-expanded': 'false', onclick: () => {
    const open = form.childNodes.length === 0;
    replace(form, open ? tokenForm('access-token', render) : null);
    toggle.setAttribute('aria-expanded', String(open));
  } }, has ? 'Token in use' : 'Anonymous');
  const forget = has ? h('button', { type: 'button', id: 'access-forget', onclick: () => { setToken(''); render(); } }, 'Forget token') : null;
  replace(el, toggle, forget, form);
}

// Links marked data-nav are followed without a page load.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[data-nav]');
  if (!a || a.origin !== location.origin) return;
  e.preventDefault();
  navigate(a.pathname + a.search + a.hash);
});
window.addEventListener('popstate', render);
document.addEventListener('regapi:token', renderAccess);
render();
