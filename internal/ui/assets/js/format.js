// Formatting of sizes, dates, digests, platforms and file modes.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

// bytes formats a size in binary units ("1.5 MiB"); undefined is "".
export function bytes(n) {
  if (n === undefined || n === null || !Number.isFinite(n)) return '';
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(v < 10 ? 1 : 0)) + ' ' + UNITS[i];
}

// date formats an RFC 3339 time as "2024-06-01 12:00 UTC"; the full value
// is the element's title.
export function date(s) {
  if (!s) return '';
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return String(s);
  return d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

// shortDigest is "sha256:" and the first 12 hex digits.
export function shortDigest(d) {
  if (typeof d !== 'string') return '';
  const i = d.indexOf(':');
  return i < 0 ? d.slice(0, 19) : d.slice(0, i + 13);
}

// platform is os/architecture[/variant].
export function platform(p) {
  if (!p) return '';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

// mode formats a Unix mode's permission bits as rwxr-xr-x, with the type
// letter in front.
export function mode(m, type) {
  const t = { dir: 'd', symlink: 'l', hardlink: 'h', file: '-' }[type] || '?';
  if (typeof m !== 'number') return t;
  let s = '';
  for (let i = 8; i >= 0; i--) s += (m & (1 << i)) ? 'rwx'[(8 - i) % 3] : '-';
  return t + s;
}
