// DOM helpers. Everything the UI shows goes through h() and text nodes:
// registry content (names, tags, labels, annotations, file contents) is
// attacker-controlled, so it is only ever assigned as text, never parsed
// as HTML. There is no innerHTML, insertAdjacentHTML or document.write in
// the UI (a Go test checks the sources).

// h creates an element. attrs: "class", "id", "title", "href" (internal
// paths and API URLs only: see safeHref), "data-*", "aria-*", "role",
// "type", "name", "value", "placeholder", "for", "download", "colspan",
// "open", "autocomplete", "spellcheck"; "on<event>" attaches a listener.
// Children are nodes or strings (added as text), null and false skipped,
// arrays flattened.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'href') {
      el.setAttribute('href', safeHref(v));
    } else if (k === 'value') {
      el.value = v;
    } else if (ALLOWED.has(k) || k.startsWith('data-') || k.startsWith('aria-')) {
      el.setAttribute(k, v === true ? '' : String(v));
    } else {
      throw new Error('h: attribute not allowed: ' + k);
    }
  }
  append(el, children);
  return el;
}

const ALLOWED = new Set(['class', 'id', 'title', 'role', 'type', 'name', 'placeholder', 'for',
  'download', 'colspan', 'open', 'autocomplete', 'spellcheck', 'selected', 'tabindex', 'rel', 'target']);

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// safeHref accepts only paths on this origin ("/ui/…", "/api/v1/…",
// "/openapi.yaml") and blob: URLs the UI made; anything else (a
// javascript: URL built from hostile data, another origin) becomes "#".
export function safeHref(v) {
  const s = String(v);
  if (s.startsWith('blob:' + location.origin + '/')) return s;
  if (s.startsWith('/') && !s.startsWith('//') && !s.includes('\\')) return s;
  return '#';
}

// clear empties a node.
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// replace puts children in el instead of what it held.
export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

// table builds a <table> from header labels and rows of cells (strings,
// nodes, or <td> elements of their own, for a cell that spans columns); a
// row may be {cells, attrs}. Wrapped for horizontal scrolling on narrow
// screens.
export function table(id, headers, rows, caption) {
  return h('div', { class: 'scroll' },
    h('table', { id },
      caption ? h('caption', null, caption) : null,
      h('thead', null, h('tr', null, headers.map((x) => h('th', null, x)))),
      h('tbody', null, rows.map((r) => Array.isArray(r)
        ? h('tr', null, r.map(cell))
        : h('tr', r.attrs, r.cells.map(cell))))));
}

function cell(c) {
  return c instanceof HTMLTableCellElement ? c : h('td', null, c);
}

// link is an internal link the router follows without reloading.
export function link(path, ...children) {
  return h('a', { href: path, 'data-nav': true }, ...children);
}

// section is a titled part of a view with its own state.
export function section(id, title, ...children) {
  return h('section', { id, 'data-state': 'loading' }, h('h2', null, title), ...children);
}
