// API tokens: create (secret shown once), list, revoke.
import { get, post, del } from './api.js';
import { h, crudPage, table, field, toast, toastError, confirmDialog, fmtDate, replace } from './ui.js';

const SCOPES = ['read', 'write', 'import', 'admin'];
crudPage({
  createForm: (reload) => {
    const secret = h('div', { class: 'secret' });
    const form = h('form', { class: 'card', onsubmit: async (e) => {
      e.preventDefault();
      const fd = new FormData(form);
      const scopes = fd.getAll('scopes');
      const days = fd.get('expires_days');
      try {
        const t = await post('/tokens', { name: fd.get('name'), scopes, expires_days: days ? Number(days) : null });
        replace(secret, h('div', { class: 'notice', role: 'status' }, 'Copy this token now — it is not shown again: ', h('code', { class: 'token-secret' }, t.token)));
        form.reset(); reload();
      } catch (err) { toastError(err); }
    } }, h('h2', {}, 'New API token'),
    h('div', { class: 'form-grid' }, field('Name', h('input', { name: 'name', required: true, placeholder: 'PBX caller-ID lookup' })),
      field('Expires after (days)', h('input', { name: 'expires_days', type: 'number', min: 1, max: 3650 }), 'Empty = never')),
    h('div', { class: 'toolbar' }, SCOPES.map((s) => h('label', {}, h('input', { type: 'checkbox', name: 'scopes', value: s, checked: s === 'read' }), ` ${s}`))),
    h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, 'Create token')), secret);
    return form;
  },
  load: () => get('/tokens'),
  render: (rows, reload) => table('API tokens', [
    { label: 'Name', cell: (t) => t.name }, { label: 'Prefix', cell: (t) => h('code', {}, t.prefix) },
    { label: 'Scopes', cell: (t) => t.scopes.map((s) => h('span', { class: 'tag' }, s)) },
    { label: 'User', cell: (t) => (t.user_id != null ? `#${t.user_id}` : '') },
    { label: 'Created', cell: (t) => fmtDate(t.created_at) }, { label: 'Last used', cell: (t) => fmtDate(t.last_used_at) || 'never' },
    { label: 'Expires', cell: (t) => fmtDate(t.expires_at) || 'never' },
    { label: '', cell: (t) => (t.revoked ? h('span', { class: 'muted' }, 'Revoked') : h('button', { type: 'button', class: 'danger', onclick: async () => {
      if (!(await confirmDialog(`Revoke the token “${t.name}”? Programs using it stop working immediately.`, { yes: 'Revoke', danger: true }))) return;
      try { await del(`/tokens/${t.id}`); toast('Token revoked'); reload(); } catch (err) { toastError(err); }
    } }, 'Revoke')) }], rows, 'No API tokens yet.'),
});
