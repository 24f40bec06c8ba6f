// Users: create, edit role/extension/import right, deactivate, reset password.
import { get, post, patch } from './api.js';
import { h, crudPage, table, field, toast, toastError, formDialog, fmtDate } from './ui.js';

crudPage({
  createForm: (reload) => {
    const form = h('form', { class: 'card', onsubmit: async (e) => {
      e.preventDefault();
      const f = Object.fromEntries(new FormData(form));
      const body = { username: f.username, password: f.password, display_name: f.display_name, email: f.email || null,
        extension: f.extension || null, is_admin: Boolean(f.is_admin), can_import: Boolean(f.can_import) };
      try { await post('/users', body); toast(`User ${f.username} created`); form.reset(); reload(); } catch (err) { toastError(err); }
    } }, h('h2', {}, 'New user'), h('div', { class: 'form-grid' },
      field('Username', h('input', { name: 'username', required: true, autocomplete: 'off' })),
      field('Password', h('input', { name: 'password', type: 'password', minlength: 8, required: true, autocomplete: 'new-password' })),
      field('Display name', h('input', { name: 'display_name' })), field('E-mail', h('input', { name: 'email', type: 'email' })),
      field('Extension', h('input', { name: 'extension' })),
      field('Administrator', h('input', { type: 'checkbox', name: 'is_admin', value: '1' })),
      field('May import CSV', h('input', { type: 'checkbox', name: 'can_import', value: '1', checked: true }))),
    h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, 'Create user')));
    return form;
  },
  load: () => get('/users'),
  render: (rows, reload) => table('Users', [
    { label: 'User', cell: (u) => [h('strong', {}, u.display_name || u.username), h('div', { class: 'muted' }, u.username)] },
    { label: 'E-mail', cell: (u) => u.email || '' }, { label: 'Extension', cell: (u) => u.extension || '' },
    { label: 'Role', cell: (u) => (u.is_admin ? h('span', { class: 'badge' }, 'Admin') : 'User') },
    { label: 'Import', cell: (u) => (u.can_import ? 'Yes' : 'No') },
    { label: 'Status', cell: (u) => (u.is_active ? 'Active' : 'Disabled') },
    { label: '', cell: (u) => h('span', { class: 'row-actions' },
      h('button', { type: 'button', onclick: async () => {
        const out = await formDialog(`Edit ${u.username}`, [
          field('Display name', h('input', { name: 'display_name', value: u.display_name || '' })),
          field('E-mail', h('input', { name: 'email', type: 'email', value: u.email || '' })),
          field('Extension', h('input', { name: 'extension', value: u.extension || '' })),
          field('New password', h('input', { name: 'password', type: 'password', minlength: 8, autocomplete: 'new-password' }), 'Leave empty to keep'),
          field('Administrator', h('input', { type: 'checkbox', name: 'is_admin', value: '1', checked: u.is_admin })),
          field('May import CSV', h('input', { type: 'checkbox', name: 'can_import', value: '1', checked: u.can_import }))], { ok: 'Save' });
        if (!out) return;
        const body = { display_name: out.display_name, email: out.email || null, extension: out.extension || null,
          is_admin: Boolean(out.is_admin), can_import: Boolean(out.can_import) };
        if (out.password) body.password = out.password;
        try { await patch(`/users/${u.id}`, body); toast('User saved'); reload(); } catch (err) { toastError(err); }
      } }, 'Edit'),
      h('button', { type: 'button', onclick: async () => {
        try { await patch(`/users/${u.id}`, { is_active: !u.is_active }); reload(); } catch (err) { toastError(err); }
      } }, u.is_active ? 'Disable' : 'Enable')) }], rows),
});
void fmtDate;
