// Lists: static and dynamic (saved filter with criteria), live counts, members.
import { get, post, del } from './api.js';
import { h, crudPage, table, field, select, toast, toastError, confirmDialog, replace, errorBox, empty, humanize,
  me, departmentsFor } from './ui.js';

const SCOPE_WORDS = { global: 'All', department: 'Queue', private: 'Owner' };

function criteriaText(c) {
  return Object.entries(c || {}).map(([k, v]) => `${humanize(k)}: ${Array.isArray(v) ? v.join(', ') : v}`).join('; ');
}

async function members(list) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const dlg = h('dialog', { 'aria-label': `Members of ${list.name}`, style: 'max-width:640px;width:90vw' },
    h('h2', {}, `Members — ${list.name}`), body,
    h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => dlg.close() }, 'Close')));
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg); dlg.showModal();
  try {
    const page = await get(`/lists/${list.id}/members`, { limit: 100 });
    const rows = page.items;
    replace(body, rows.length ? table('Members', [
      { label: 'Name', cell: (c) => h('a', { href: `/admin/contacts/${c.id}` }, c.display_name) },
      { label: 'Company', cell: (c) => c.company || '' },
      { label: '', cell: (c) => (list.kind === 'static' ? h('button', { type: 'button', onclick: async (e) => {
        try { await del(`/lists/${list.id}/members`, { contact_ids: [c.id] }); e.target.closest('tr').remove(); } catch (err) { toastError(err); }
      } }, 'Remove') : '') }], rows) : empty(list.kind === 'static' ? 'No members yet: add contacts from the Contacts grid (Add to List).' : 'No contacts match these criteria.'));
  } catch (err) { replace(body, errorBox(err)); }
}

const meData = await me();
const deps = await departmentsFor(meData);
const scopes = ['global', 'department', 'private'].filter((s) => meData.permissions[`create:${s}`]);

crudPage({
  createForm: (reload) => {
    const crit = h('div', { class: 'form-grid criteria', hidden: true },
      field('Status', select('c_status', [['', 'Any'], ['active', 'Active'], ['inactive', 'Inactive'], ['do_not_contact', 'Do Not Contact']], '')),
      field('Contact type', select('c_contact_type', [['', 'Any'], ['customer', 'Customer'], ['lead', 'Lead']], '')),
      field('Tags (all of)', h('input', { name: 'c_tags', placeholder: 'vip, renewal' })),
      field('Search text', h('input', { name: 'c_q' })));
    const kind = select('kind', [['static', 'Static (hand-picked members)'], ['dynamic', 'Dynamic (saved filter)']], 'static');
    kind.addEventListener('change', () => { crit.hidden = kind.value !== 'dynamic'; });
    const vis = select('visibility', scopes.map((s) => [s, SCOPE_WORDS[s]]), scopes[0]);
    const dep = field('Queue', select('department_id', deps.map((d) => [d.id, d.name]), deps[0]?.id));
    const syncVis = () => { dep.hidden = vis.value !== 'department'; };
    vis.addEventListener('change', syncVis);
    const form = h('form', { class: 'card', onsubmit: async (e) => {
      e.preventDefault();
      const f = Object.fromEntries(new FormData(form));
      const body = { name: f.name, kind: f.kind, description: f.description, visibility: f.visibility };
      if (f.visibility === 'department') body.department_id = Number(f.department_id);
      if (f.kind === 'dynamic') {
        body.criteria = {};
        if (f.c_status) body.criteria.status = f.c_status;
        if (f.c_contact_type) body.criteria.contact_type = f.c_contact_type;
        if (f.c_tags) body.criteria.tags = f.c_tags.split(',').map((t) => t.trim()).filter(Boolean);
        if (f.c_q) body.criteria.q = f.c_q;
      }
      try { await post('/lists', body); toast(`List “${f.name}” created`); form.reset(); crit.hidden = true; syncVis(); reload(); } catch (err) { toastError(err); }
    } },
    h('h2', {}, 'New list'),
    h('div', { class: 'form-grid' }, field('Name', h('input', { name: 'name', required: true })), field('Kind', kind),
      field('Visibility', vis), dep, field('Description', h('input', { name: 'description' }))),
    crit, h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, 'Create list')));
    syncVis();
    return form;
  },
  load: () => get('/lists'),
  render: (rows, reload) => table('Lists', [
    { label: 'Name', cell: (l) => h('strong', {}, l.name) },
    { label: 'Kind', cell: (l) => h('span', { class: 'badge' }, humanize(l.kind)) },
    { label: 'Contacts', cell: (l) => h('span', { class: 'count' }, String(l.count ?? '')) },
    { label: 'Criteria', cell: (l) => (l.kind === 'dynamic' ? criteriaText(l.criteria) : l.description || '') },
    { label: 'Visibility', cell: (l) => SCOPE_WORDS[l.visibility] || l.visibility || '' },
    { label: '', cell: (l) => h('span', { class: 'row-actions' },
      h('button', { type: 'button', onclick: () => members(l) }, 'Members'),
      h('button', { type: 'button', class: 'danger', onclick: async () => {
        if (!(await confirmDialog(`Delete the list “${l.name}”? Its contacts are kept.`, { yes: 'Delete', danger: true }))) return;
        try { await del(`/lists/${l.id}`); toast('List deleted'); reload(); } catch (err) { toastError(err); }
      } }, 'Delete')) }], rows, 'No lists yet.'),
});
