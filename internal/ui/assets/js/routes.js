// The UI's URLs mirror the API's: swap /api/v1/ for /ui/ and back.
//
//   /ui/                                                    registries
//   /ui/repos/{registry}[/{path…}]                          tree, and a repository's image table
//   /ui/repos/{registry}/{repository…}/-/images/{ref}      an image
//   /ui/repos/{registry}/{repository…}/-/files/{ref}/{p…}  its file browser
//
// Other API actions map to the nearest view (tags and repositories to the
// tree, manifests, config, digest and referrers to the image, extract to
// the file browser), so any API URL swapped to /ui/ shows something.

import { enc, encPath } from './api.js';

// parseRoute reads a location's path and query into a route.
export function parseRoute(pathname, search) {
  const query = new URLSearchParams(search);
  if (!pathname.startsWith('/ui/')) return { view: 'notfound', query };
  const rest = pathname.slice(4);
  if (rest === '') return { view: 'registries', query };
  const segs = rest.split('/').map(dec);
  if (segs[0] !== 'repos' || !segs[1]) return { view: 'notfound', query };
  const registry = segs[1];
  const dash = segs.indexOf('-', 2);
  const repo = segs.slice(2, dash < 0 ? undefined : dash).filter((s) => s !== '').join('/');
  if (dash < 0) return { view: 'tree', registry, repo, query };
  const action = segs[dash + 1] || '';
  const ref = segs[dash + 2] || '';
  switch (action) {
    case 'images':
      return ref ? { view: 'image', registry, repo, ref, query } : { view: 'tree', registry, repo, query };
    case 'manifests': case 'config': case 'digest': case 'referrers':
      return ref ? { view: 'image', registry, repo, ref, query, focus: action } : { view: 'notfound', query };
    case 'files': case 'extract': {
      if (!ref) return { view: 'notfound', query };
      let path = action === 'files' ? segs.slice(dash + 3).join('/') : (query.get('path') || '').replace(/^\/+/, '');
      return { view: 'files', registry, repo, ref, path, query };
    }
    case 'tags': case 'repositories': case '':
      return { view: 'tree', registry, repo, query };
  }
  return { view: 'notfound', query };
}

function dec(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}

// UI paths.
export function registryPath(registry) {
  return '/ui/repos/' + enc(registry);
}

export function treePath(registry, repo) {
  return registryPath(registry) + (repo ? '/' + encPath(repo) : '');
}

export function imagePath(registry, repo, ref) {
  return treePath(registry, repo) + '/-/images/' + enc(ref);
}

export function filesPath(registry, repo, ref, path) {
  return treePath(registry, repo) + '/-/files/' + enc(ref) + '/' + encPath(path || '');
}
