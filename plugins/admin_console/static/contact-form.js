// Create/edit a contact: every field of the model, collapsible Custom Fields, scope selector, conversion.
import { get, post, request, API, del } from './api.js';
import { h, view, replace, errorBox, toast, toastError, confirmDialog, field, select, humanize, me, appData,
  departmentsFor } from './ui.js';

const SOURCES = ['web_form', 'referral', 'trade_show', 'cold_call', 'website', 'import', 'directory_import', 'api',
  'manual', 'social_media', 'lead_conversion', 'sync'];
const CHANNELS = ['phone', 'email', 'sms', 'whatsapp', 'chat', 'facebook'];
const PHONE_LABELS = ['mobile', 'work', 'home', 'fax', 'other'];
const EMAIL_LABELS = ['private', 'business', 'other'];
const SCOPE_WORDS = { global: 'All (global)', department: 'Queue (department)', private: 'Owner (private)' };

const input = (name, value, attrs = {}) => h('input', { name, value: value ?? '', ...attrs });

function rowsEditor(kind, items) {
  const labels = kind === 'phone' ? PHONE_LABELS : EMAIL_LABELS;
  const box = h('div', { class: `rows ${kind}s`, 'data-kind': kind });
  const add = (value = '', label = kind === 'phone' ? 'work' : 'business') => {
    const row = h('div', { class: 'toolbar', 'data-row': kind },
      input(kind, value, { 'aria-label': kind === 'phone' ? 'Phone number' : 'Email address', type: kind === 'email' ? 'email' : 'tel', size: 28 }),
      select(`${kind}_label`, labels.map((l) => [l, humanize(l)]), label, { 'aria-label': `${kind} label` }),
      h('button', { type: 'button', class: 'link-remove', 'aria-label': `Remove ${kind}`, onclick: () => row.remove() }, '✕'));
    box.insertBefore(row, addBtn);
  };
  const addBtn = h('button', { type: 'button', onclick: () => add() }, kind === 'phone' ? '+ Add phone' : '+ Add email');
  box.append(addBtn);
  (items.length ? items : [{}]).forEach((it) => add(kind === 'phone' ? it.number : it.address, it.label));
  return box;
}

function readRows(form, kind) {
  return [...form.querySelectorAll(`[data-row=${kind}]`)].map((r) => {
    const value = r.querySelector(`[name=${kind}]`).value.trim();
    const label = r.querySelector(`[name=${kind}_label]`).value;
    return value ? (kind === 'phone' ? { number: value, label } : { address: value, label }) : null;
  }).filter(Boolean);
}

function customControl(def, value) {
  const name = `custom:${def.name}`;
  const req = def.required ? { required: true } : {};
  switch (def.field_type) {
    case 'number': return input(name, value, { type: 'number', step: 'any', ...req });
    case 'date': return input(name, value, { type: 'date', ...req });
    case 'checkbox': return h('input', { type: 'checkbox', name, checked: value === true || value === 'true' });
    case 'textarea': return h('textarea', { name, ...req }, value ?? '');
    case 'select': return select(name, [['', '—'], ...(def.options || []).map((o) => [o, o])], value, req);
    default: return input(name, value, req);
  }
}

function customValue(def, form) {
  const el = form.elements[`custom:${def.name}`];
  if (def.field_type === 'checkbox') return el.checked;
  if (el.value === '') return null;
  return def.field_type === 'number' ? Number(el.value) : el.value;
}

async function init() {
  const root = view();
  const id = appData().contactId;
  const meData = await me();
  const [accounts, defs, deps] = await Promise.all([get('/accounts'), get('/custom-fields'), departmentsFor(meData)]);
  let users = [];
  try { users = await get('/users'); } catch { users = [{ id: meData.user_id, username: meData.username }]; }
  let c = { status: 'active', contact_type: 'customer', visibility: meData.permissions['create:global'] ? 'global' : 'department', phones: [], emails: [], tags: [], custom: {}, lists: [] };
  let etag = null;
  if (id) {
    const res = await request('GET', `${API}/contacts/${id}`);
    c = res.data; etag = res.etag;
    document.querySelector('h1').textContent = `Edit contact — ${c.display_name}`;
  }
  const scopes = ['global', 'department', 'private'].filter((s) => meData.permissions[`create:${s}`] || s === c.visibility);
  const opt = (list, value, blank = '—') => [['', blank], ...list.map((v) => [v, humanize(v)])];
  const visSel = select('visibility', scopes.map((s) => [s, SCOPE_WORDS[s]]), c.visibility, { 'aria-label': 'Visibility' });
  const queueField = field('Assigned Queue', select('department_id', deps.map((d) => [d.id, d.name]), c.department_id ?? deps[0]?.id));
  const ownerChoices = meData.role === 'admin' ? users : users.filter((u) => u.id === meData.user_id);
  const ownerField = field('Assigned To', select('owner_id', (ownerChoices.length ? ownerChoices : [{ id: meData.user_id, username: meData.username }])
    .map((u) => [u.id, u.display_name || u.username]), c.owner_id ?? meData.user_id));
  const syncScope = () => { queueField.hidden = visSel.value !== 'department'; ownerField.hidden = visSel.value !== 'private'; };
  visSel.addEventListener('change', syncScope);
  const accountSel = select('account_id', [['', '—'], ...accounts.map((a) => [a.id, a.name])], c.account_id);

  const form = h('form', { class: 'contact-form', novalidate: false, onsubmit: (e) => { e.preventDefault(); save(); } },
    h('fieldset', {}, h('legend', {}, 'Basic Information'), h('div', { class: 'form-grid' },
      field('First Name', input('first_name', c.first_name, { required: true })),
      field('Last Name', input('last_name', c.last_name)),
      field('Title', input('title', c.title)),
      field('Department', input('org_department', c.org_department), 'Department within their organization'),
      field('Company', input('company', c.company)),
      field('Contact type', select('contact_type', [['customer', 'Customer'], ['lead', 'Lead']], c.contact_type))),
    h('h2', {}, 'Phones'), rowsEditor('phone', c.phones || []),
    h('h2', {}, 'Emails'), rowsEditor('email', c.emails || [])),
    h('fieldset', {}, h('legend', {}, 'Classification'), h('div', { class: 'form-grid' },
      field('Account', accountSel),
      field('Source', select('acquisition_source', opt(SOURCES, c.acquisition_source), c.acquisition_source)),
      field('Status', select('status', [['active', 'Active'], ['inactive', 'Inactive'], ['do_not_contact', 'Do Not Contact']], c.status)),
      field('Visibility', visSel, id ? 'Changing it converts the contact to the new scope.' : 'Only scopes you may create in are offered.'),
      queueField, ownerField,
      field('Preferred Channel', select('preferred_channel', opt(CHANNELS, c.preferred_channel), c.preferred_channel)),
      field('Language', input('language', c.language, { placeholder: 'e.g. en, de-AT' })),
      field('Timezone', input('timezone', c.timezone, { placeholder: 'e.g. Europe/Berlin' })),
      field('Tags', input('tags', (c.tags || []).join(', ')), 'Comma-separated'))),
    h('fieldset', {}, h('legend', {}, 'Channels & consent'), h('div', { class: 'form-grid' },
      field('Facebook user id', input('fb_user_id', c.fb_user_id)),
      field('Opt-in e-mail', h('input', { type: 'checkbox', name: 'opt_in_email', checked: c.opt_in_email })),
      field('Opt-in SMS', h('input', { type: 'checkbox', name: 'opt_in_sms', checked: c.opt_in_sms })),
      field('Opt-in WhatsApp', h('input', { type: 'checkbox', name: 'opt_in_whatsapp', checked: c.opt_in_whatsapp })))),
    h('fieldset', {}, h('legend', {}, 'Lists & Notes'),
      field('Lists', h('input', { readonly: true, name: 'lists_ro', value: (c.lists || []).join(', ') || '—' })),
      field('Notes', h('textarea', { name: 'notes' }, c.notes || ''))),
    h('fieldset', {}, h('legend', {}, 'External CRM'), h('div', { class: 'form-grid' },
      field('External CRM ID', input('external_crm_id', c.external_crm_id)),
      field('External CRM Provider', input('external_crm_provider', c.external_crm_provider, { placeholder: 'Salesforce, HubSpot…' })))),
    h('details', { class: 'section custom-fields', open: defs.length > 0 && Object.keys(c.custom || {}).length > 0 },
      h('summary', {}, `Custom Fields (${defs.length})`),
      defs.length ? h('div', { class: 'form-grid' }, defs.map((d) => field(d.label || d.name, customControl(d, c.custom?.[d.name]))))
        : h('p', { class: 'muted' }, 'No custom fields are defined.')),
    c.source_id ? h('p', { class: 'muted' }, `Synced from source #${c.source_id}${c.locally_modified ? ' — edited locally; syncs keep these values.' : '.'}`) : null,
    h('div', { class: 'toolbar' },
      h('button', { type: 'submit', class: 'primary' }, id ? 'Save changes' : 'Create contact'),
      h('a', { class: 'button', href: '/admin/contacts' }, 'Cancel'),
      h('span', { class: 'spacer' }),
      id ? h('button', { type: 'button', class: 'danger', onclick: remove }, 'Delete contact') : null),
    h('div', { id: 'form-error' }));
  syncScope();
  replace(root, form);

  function payload() {
    const v = (n) => { const x = form.elements[n].value.trim(); return x === '' ? null : x; };
    const data = {};
    for (const n of ['first_name', 'last_name', 'title', 'org_department', 'company', 'language', 'timezone', 'notes',
      'fb_user_id', 'external_crm_id', 'external_crm_provider', 'acquisition_source', 'preferred_channel']) data[n] = v(n);
    data.contact_type = form.elements.contact_type.value;
    data.status = form.elements.status.value;
    data.account_id = accountSel.value ? Number(accountSel.value) : null;
    for (const n of ['opt_in_email', 'opt_in_sms', 'opt_in_whatsapp']) data[n] = form.elements[n].checked;
    data.tags = form.elements.tags.value.split(',').map((t) => t.trim()).filter(Boolean);
    data.phones = readRows(form, 'phone');
    data.emails = readRows(form, 'email');
    data.custom = Object.fromEntries(defs.map((d) => [d.name, customValue(d, form)]));
    return data;
  }
  function scope() {
    const vis = visSel.value;
    return { visibility: vis, department_id: vis === 'department' ? Number(form.elements.department_id.value) : null,
      owner_id: vis === 'private' ? Number(form.elements.owner_id.value) : null };
  }

  async function save() {
    const errBox = document.getElementById('form-error');
    replace(errBox);
    try {
      if (!id) {
        const created = await post('/contacts', { ...payload(), ...scope() });
        toast('Contact created');
        location.href = `/admin/contacts/${created.id}?saved=1`;
        return;
      }
      const res = await request('PATCH', `${API}/contacts/${id}`, { body: payload(), headers: { 'If-Match': etag } });
      etag = res.etag;
      const s = scope();
      if (s.visibility !== c.visibility || (s.department_id ?? null) !== (c.department_id ?? null) || (s.owner_id ?? null) !== (c.owner_id ?? null)) {
        await post(`/contacts/${id}/convert`, s);
        const again = await request('GET', `${API}/contacts/${id}`);
        etag = again.etag; Object.assign(c, again.data);
      }
      toast('Contact saved');
      const saved = h('p', { class: 'notice', role: 'status' }, 'Saved.');
      replace(errBox, saved);
    } catch (err) {
      if (err.status === 412) replace(errBox, errorBox({ message: 'Someone else changed this contact since you opened it. Reload to see their changes.' }));
      else replace(errBox, errorBox(err));
    }
  }

  async function remove() {
    if (!(await confirmDialog(`Delete ${c.display_name}? This cannot be undone.`, { yes: 'Delete', danger: true }))) return;
    try { await del(`/contacts/${id}`); location.href = '/admin/contacts'; } catch (err) { toastError(err); }
  }
}

init().catch((err) => replace(view(), errorBox(err)));
