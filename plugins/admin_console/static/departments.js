// Departments (queues): members and department administrators.
import { get, post, put, del } from './api.js';
import { h, crudPage, table, field, select, toast, toastError, confirmDialog, me } from './ui.js';

const meData = await me();
const isAdmin = meData.role === 'admin';
let users = [];
try { users = await get('/users'); } catch { users = []; }
const name = (id) => { const u = users.find((x) => x.id === id); return u ? (u.display_name || u.username) : (id === meData.user_id ? meData.username : `User #${id}`); };

function memberTable(d, reload) {
  const rows = (d.members || []).map((m) => ({ ...m, id: m.user_id }));
  const cols = [{ label: 'Member', cell: (m) => name(m.user_id) },
    { label: 'Role', cell: (m) => (m.is_admin ? h('span', { class: 'badge' }, 'Department admin') : 'Member') }];
  if (isAdmin) {
    cols.push({ label: '', cell: (m) => h('span', { class: 'row-actions' },
      h('button', { type: 'button', onclick: async () => {
        try { await put(`/departments/${d.id}/members/${m.user_id}`, { is_admin: !m.is_admin }); reload(); } catch (err) { toastError(err); }
      } }, m.is_admin ? 'Make member' : 'Make admin'),
      h('button', { type: 'button', class: 'danger', onclick: async () => {
        try { await del(`/departments/${d.id}/members/${m.user_id}`); toast('Member removed'); reload(); } catch (err) { toastError(err); }
      } }, 'Remove')) });
  }
  return table(`Members of ${d.name}`, cols, rows, 'No members yet.');
}

crudPage({
  createForm: isAdmin ? (reload) => {
    const form = h('form', { class: 'card inline-form', onsubmit: async (e) => {
      e.preventDefault();
      try { await post('/departments', { name: form.elements.name.value }); toast('Department created'); form.reset(); reload(); } catch (err) { toastError(err); }
    } }, field('New department / queue', h('input', { name: 'name', required: true })), h('button', { type: 'submit', class: 'primary' }, 'Add department'));
    return form;
  } : null,
  load: async () => {
    const all = await get('/departments');
    return isAdmin ? all : all.filter((d) => meData.admin_departments.includes(d.id));
  },
  render: (deps, reload) => (deps.length ? deps.map((d) => {
    const addForm = isAdmin ? h('form', { class: 'inline-form', onsubmit: async (e) => {
      e.preventDefault();
      const f = Object.fromEntries(new FormData(e.target));
      try { await put(`/departments/${d.id}/members/${f.user_id}`, { is_admin: Boolean(f.is_admin) }); toast('Member added'); reload(); } catch (err) { toastError(err); }
    } }, field('User', select('user_id', users.map((u) => [u.id, u.display_name || u.username]), users[0]?.id)),
    field('Department admin', h('input', { type: 'checkbox', name: 'is_admin', value: '1' })),
    h('button', { type: 'submit' }, 'Add member')) : null;
    return h('section', { class: 'card department', 'data-department': d.name },
      h('div', { class: 'toolbar' }, h('h2', {}, d.name), h('span', { class: 'spacer' }),
        isAdmin ? h('button', { type: 'button', class: 'danger', onclick: async () => {
          if (!(await confirmDialog(`Delete the department “${d.name}”?`, { yes: 'Delete', danger: true }))) return;
          try { await del(`/departments/${d.id}`); toast('Department deleted'); reload(); } catch (err) { toastError(err); }
        } }, 'Delete') : null),
      memberTable(d, reload), addForm);
  }) : h('div', { class: 'empty' }, 'No departments yet.')),
});
