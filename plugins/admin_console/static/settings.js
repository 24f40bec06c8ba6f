// Contacts → Settings: one tab per source type, its form from the settings schema, Trigger Sync, Erase Data.
import { get, post, patch, del } from './api.js';
import { h, view, replace, errorBox, field, select, toast, toastError, confirmDialog, fmtDate } from './ui.js';

const TRIGGER_TEXT = 'This action will trigger sync immediately. Are you sure you want to continue with this action?';
const SECRET_MASK = '********';
const root = view();

function control(f, value, isSet) {
  const name = `s:${f.name}`;
  if (f.secret) {
    return h('input', { name, type: 'password', autocomplete: 'new-password', value: '',
      placeholder: isSet ? '•••••••• (stored — leave blank to keep)' : '', required: f.required && !isSet });
  }
  const v = value ?? f.default ?? '';
  switch (f.type) {
    case 'bool': return h('input', { type: 'checkbox', name, checked: v === true });
    case 'int': return h('input', { type: 'number', name, value: v, required: f.required });
    case 'textarea': case 'json':
      return h('textarea', { name, required: f.required }, typeof v === 'object' ? JSON.stringify(v, null, 2) : v);
    case 'select': return select(name, [['', '—'], ...f.choices.map((c) => [c, c])], v);
    case 'url': return h('input', { type: 'url', name, value: v, required: f.required, placeholder: 'https://example.com:5555' });
    default: return h('input', { name, value: v, required: f.required });
  }
}

function readSettings(form, type) {
  const out = {};
  for (const f of type.fields) {
    const el = form.elements[`s:${f.name}`];
    if (f.secret) { if (el.value) out[f.name] = el.value; continue; }
    if (f.type === 'bool') out[f.name] = el.checked;
    else if (f.type === 'int') out[f.name] = el.value === '' ? null : Number(el.value);
    else if (f.type === 'json') { try { out[f.name] = el.value ? JSON.parse(el.value) : null; } catch { out[f.name] = el.value; } }
    else out[f.name] = el.value;
  }
  return out;
}

function statusBox(src) {
  if (!src) return h('div', { class: 'status-message', 'data-testid': 'status-message' }, 'Not configured yet.');
  const running = src.running || src.sync_requested;
  const text = running ? `Sync in progress… ${src.status_message || ''}` : (src.status_message || 'No sync has run yet.');
  return h('div', { class: `status-message${/fail|error/i.test(src.status_message || '') ? ' error' : ''}`,
    'data-testid': 'status-message', role: 'status' }, h('strong', {}, 'Status Message: '), text,
  src.next_run_at && src.enabled ? h('div', { class: 'muted' }, `Next automatic sync: ${fmtDate(src.next_run_at)}`) : null);
}

function tabPanel(type, src, reload) {
  const status = h('div', {}, statusBox(src));
  const form = h('form', { class: 'card source-form', 'data-source-type': type.name, onsubmit: async (e) => { e.preventDefault(); await save(); } },
    type.description ? h('p', { class: 'muted' }, type.description) : null,
    h('div', { class: 'form-grid' },
      field('Enable Sync', select('enabled', [['false', 'No'], ['true', 'Yes']], String(src?.enabled ?? false)),
        'Yes runs a full sync now and then every interval; No saves the settings and syncs only on Trigger Sync.'),
      field('Sync Interval (hours)', h('input', { type: 'number', name: 'interval_hours', min: 1, value: src?.interval_hours ?? 24, required: true })),
      type.fields.map((f) => field(f.label, control(f, src?.settings?.[f.name] === SECRET_MASK ? '' : src?.settings?.[f.name], src?.secrets_set?.[f.name]), f.help)),
      type.full_snapshot_options ? [
        field('Remove contacts not received', h('input', { type: 'checkbox', name: 'remove_absent', checked: src?.remove_absent })),
        field('Erase a value the source sends empty', h('input', { type: 'checkbox', name: 'erase_empty', checked: src?.erase_empty }))] : null),
    type.permissions_help ? h('p', { class: 'notice' }, type.permissions_help) : null,
    h('div', { class: 'toolbar' },
      h('button', { type: 'submit', class: 'primary' }, src ? 'Save' : 'Save and create source'),
      h('button', { type: 'button', disabled: !src, onclick: trigger }, 'Trigger Sync'),
      h('span', { class: 'spacer' }),
      h('button', { type: 'button', class: 'danger', disabled: !src, onclick: erase }, 'Erase Data')),
    status);

  async function save() {
    const body = { enabled: form.elements.enabled.value === 'true', interval_hours: Number(form.elements.interval_hours.value),
      settings: readSettings(form, type) };
    if (type.full_snapshot_options) { body.remove_absent = form.elements.remove_absent.checked; body.erase_empty = form.elements.erase_empty.checked; }
    body.name = body.settings.name || src?.name || type.label;
    try {
      if (src) await patch(`/sources/${src.id}`, body); else await post('/sources', { plugin: type.name, ...body });
      toast(`${type.label} settings saved`);
      reload(type.name);
    } catch (err) { toastError(err); }
  }
  async function trigger() {
    if (!(await confirmDialog(TRIGGER_TEXT))) return;
    try {
      const res = await post(`/sources/${src.id}/sync`);
      replace(status, statusBox({ ...res.source, running: res.status !== 'done' }));
      poll();
    } catch (err) { toastError(err); }
  }
  async function poll() {
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 700));
      const cur = await get(`/sources/${src.id}`).catch(() => null);
      if (!cur) return;
      replace(status, statusBox(cur));
      if (!cur.running && !cur.sync_requested) { toast('Sync finished'); return; }
    }
  }
  async function erase() {
    if (!(await confirmDialog(type.erase_warning, { yes: 'Erase Data', danger: true }))) return;
    try { await post(`/sources/${src.id}/erase`); toast(`${type.label} data erased`); reload(type.name); } catch (err) { toastError(err); }
  }
  return form;
}

async function load(selected) {
  try {
    const [types, sources] = await Promise.all([get('/source-types'), get('/sources')]);
    const list = Array.isArray(sources) ? sources : sources.items || [];
    const tabs = h('div', { class: 'tabs', role: 'tablist' });
    const panel = h('div', { role: 'tabpanel' });
    const show = (t) => {
      tabs.querySelectorAll('button').forEach((b) => b.setAttribute('aria-selected', String(b.dataset.type === t.name)));
      replace(panel, tabPanel(t, list.find((s) => s.plugin === t.name), load));
    };
    types.forEach((t) => tabs.append(h('button', { type: 'button', role: 'tab', 'data-type': t.name, onclick: () => show(t) }, t.label)));
    replace(root, types.length ? [tabs, panel] : h('div', { class: 'empty' }, 'No source plugins are enabled.'));
    if (types.length) show(types.find((t) => t.name === selected) || types[0]);
  } catch (err) { replace(root, errorBox(err)); }
}
load(new URLSearchParams(location.search).get('tab'));
void del;
