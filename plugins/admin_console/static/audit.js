// Audit log: newest first, filter by entity, "older" paging.
import { get } from './api.js';
import { h, view, replace, table, errorBox, fmtDate, loading } from './ui.js';

const root = view();
const box = h('div');
const entity = h('select', { 'aria-label': 'Entity' }, ['', 'contact', 'list', 'tag', 'account', 'custom_field', 'department', 'user', 'token', 'source', 'import']
  .map((e) => h('option', { value: e }, e || 'All entities')));
let before = [];
async function load() {
  loading(box);
  try {
    const rows = await get('/audit', { entity: entity.value, before_id: before.at(-1), limit: 50 });
    replace(box, table('Audit log', [
      { label: 'When', cell: (e) => fmtDate(e.at) }, { label: 'User', cell: (e) => (e.user_id != null ? `#${e.user_id}` : 'system') },
      { label: 'Action', cell: (e) => h('code', {}, e.action) }, { label: 'Entity', cell: (e) => `${e.entity} ${e.entity_id ?? ''}` },
      { label: 'Details', cell: (e) => h('span', { class: 'muted' }, JSON.stringify(e.details || {}).slice(0, 200)) }], rows, 'No audit events.'),
    h('div', { class: 'pager' },
      h('button', { type: 'button', disabled: !before.length, onclick: () => { before.pop(); load(); } }, '‹ Newer'),
      h('button', { type: 'button', disabled: rows.length < 50, onclick: () => { before.push(rows.at(-1).id); load(); } }, 'Older ›')));
  } catch (err) { replace(box, errorBox(err)); }
}
entity.addEventListener('change', () => { before = []; load(); });
replace(root, h('div', { class: 'toolbar' }, entity), box);
load();
