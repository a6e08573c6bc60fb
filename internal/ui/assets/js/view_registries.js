// /ui/: the configured registries.

import { h, link, table } from './dom.js';
import { getJSON } from './api.js';
import { apiBox, setState } from './common.js';
import { registryPath } from './routes.js';

export async function registriesView(view) {
  document.title = 'Registries · regapi';
  const url = '/api/v1/registries';
  view.appendChild(h('h1', null, 'Registries'));
  view.appendChild(apiBox([{ url }]));
  const data = await getJSON(url);
  const regs = data.registries || [];
  view.appendChild(regs.length
    ? table('registries', ['Name', 'Host'], regs.map((r) => [link(registryPath(r.name), r.name), h('span', { class: 'mono' }, r.host || '')]))
    : h('p', { class: 'muted' }, 'No registries are configured.'));
  setState(view, 'ready');
}
