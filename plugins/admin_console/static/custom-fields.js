// Custom-field definitions (text, number, date, select, checkbox, textarea).
import { get, post, del } from './api.js';
import { h, crudPage, table, field, select, toast, toastError, confirmDialog, humanize } from './ui.js';

const TYPES = ['text', 'number', 'date', 'select', 'checkbox', 'textarea'];
crudPage({
  createForm: (reload) => {
    const type = select('field_type', TYPES.map((t) => [t, humanize(t)]), 'text');
    const opts = field('Options', h('input', { name: 'options', placeholder: 'Gold, Silver, Bronze' }), 'Comma-separated (select only)');
    type.addEventListener('change', () => { opts.hidden = type.value !== 'select'; });
    opts.hidden = true;
    const form = h('form', { class: 'card', onsubmit: async (e) => {
      e.preventDefault();
      const f = Object.fromEntries(new FormData(form));
      const body = { name: f.name, label: f.label || f.name, field_type: f.field_type, required: Boolean(f.required) };
      if (f.field_type === 'select') body.options = (f.options || '').split(',').map((o) => o.trim()).filter(Boolean);
      try { await post('/custom-fields', body); toast('Custom field created'); form.reset(); opts.hidden = true; reload(); } catch (err) { toastError(err); }
    } }, h('h2', {}, 'New custom field'),
    h('div', { class: 'form-grid' }, field('Name (key)', h('input', { name: 'name', required: true, pattern: '[a-z][a-z0-9_]*', placeholder: 'contract_tier' })),
      field('Label', h('input', { name: 'label' })), field('Type', type), opts,
      field('Required', h('input', { type: 'checkbox', name: 'required', value: '1' }))),
    h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, 'Add field')));
    return form;
  },
  load: () => get('/custom-fields'),
  render: (rows, reload) => table('Custom fields', [
    { label: 'Label', cell: (d) => d.label || d.name }, { label: 'Key', cell: (d) => h('code', {}, d.name) },
    { label: 'Type', cell: (d) => humanize(d.field_type) }, { label: 'Options', cell: (d) => (d.options || []).join(', ') },
    { label: 'Required', cell: (d) => (d.required ? 'Yes' : '') },
    { label: '', cell: (d) => h('button', { type: 'button', class: 'danger', onclick: async () => {
      if (!(await confirmDialog(`Delete the custom field “${d.label || d.name}” and its values on every contact?`, { yes: 'Delete', danger: true }))) return;
      try { await del(`/custom-fields/${d.id}`); toast('Custom field deleted'); reload(); } catch (err) { toastError(err); }
    } }, 'Delete') }], rows, 'No custom fields yet.'),
});
