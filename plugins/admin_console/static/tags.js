// Tags: usage counts, rename, delete.
import { get, patch, del } from './api.js';
import { h, crudPage, table, toast, toastError, confirmDialog, formDialog, field } from './ui.js';

crudPage({
  load: () => get('/tags'),
  render: (rows, reload) => table('Tags', [
    { label: 'Tag', cell: (t) => h('span', { class: 'tag' }, t.name) },
    { label: 'Contacts', cell: (t) => String(t.count ?? '') },
    { label: '', cell: (t) => h('span', { class: 'row-actions' },
      h('button', { type: 'button', onclick: async () => {
        const out = await formDialog('Rename tag', field('New name', h('input', { name: 'name', value: t.name, required: true })), { ok: 'Rename' });
        if (!out) return;
        try { await patch(`/tags/${t.id}`, { name: out.name }); toast('Tag renamed'); reload(); } catch (err) { toastError(err); }
      } }, 'Rename'),
      h('button', { type: 'button', class: 'danger', onclick: async () => {
        if (!(await confirmDialog(`Delete the tag “${t.name}” from every contact?`, { yes: 'Delete', danger: true }))) return;
        try { await del(`/tags/${t.id}`); toast('Tag deleted'); reload(); } catch (err) { toastError(err); }
      } }, 'Delete')) }], rows, 'No tags yet: add them to contacts in the grid or the form.'),
});
