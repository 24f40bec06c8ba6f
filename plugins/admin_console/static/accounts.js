// Accounts (companies): create and delete.
import { get, post, del } from './api.js';
import { h, crudPage, table, field, toast, toastError, confirmDialog } from './ui.js';

crudPage({
  createForm: (reload) => {
    const form = h('form', { class: 'card inline-form', onsubmit: async (e) => {
      e.preventDefault();
      const f = Object.fromEntries(new FormData(form));
      try { await post('/accounts', { name: f.name, website: f.website || null }); toast('Account created'); form.reset(); reload(); } catch (err) { toastError(err); }
    } }, field('Name', h('input', { name: 'name', required: true })), field('Website', h('input', { name: 'website', type: 'url' })),
    h('button', { type: 'submit', class: 'primary' }, 'Add account'));
    return form;
  },
  load: () => get('/accounts'),
  render: (rows, reload) => table('Accounts', [
    { label: 'Name', cell: (a) => a.name },
    { label: 'Website', cell: (a) => (a.website ? h('a', { href: a.website, rel: 'noopener', target: '_blank' }, a.website) : '') },
    { label: '', cell: (a) => h('button', { type: 'button', class: 'danger', onclick: async () => {
      if (!(await confirmDialog(`Delete the account “${a.name}”? Contacts keep their company name.`, { yes: 'Delete', danger: true }))) return;
      try { await del(`/accounts/${a.id}`); toast('Account deleted'); reload(); } catch (err) { toastError(err); }
    } }, 'Delete') }], rows, 'No accounts yet.'),
});
