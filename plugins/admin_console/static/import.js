// Import CSV wizard: 1 Upload, 2 Map fields, 3 Review & import; counts, failed rows, background progress.
import { get, request, API } from './api.js';
import { h, view, replace, errorBox, field, select, toast, toastError, me, departmentsFor, humanize } from './ui.js';

const TARGETS = ['first_name', 'last_name', 'company', 'email', 'email:private', 'email:business', 'email:other',
  'phone', 'mobile', 'phone:work', 'phone:home', 'phone:fax', 'phone:other', 'title', 'department', 'org_department',
  'contact_type', 'status', 'source', 'acquisition_source', 'preferred_channel', 'language', 'timezone', 'notes',
  'assigned_to', 'external_crm_id', 'external_crm_provider', 'external_id', 'fb_user_id', 'opt_in_email', 'opt_in_sms',
  'opt_in_whatsapp', 'visibility', 'assigned_queue', '_full_name', '_tag', '_list'];
const root = view();
const st = { file: null, options: {}, preview: null, mapping: [] };
const meData = await me();
const deps = await departmentsFor(meData);
const maps = await get('/import-maps').then((r) => r.items || r).catch(() => []);
const lists = await get('/lists').then((ls) => ls.filter((l) => l.kind === 'static')).catch(() => []);

function steps(n) {
  return h('ol', { class: 'steps' }, ['Upload', 'Map fields', 'Review & import'].map((t, i) =>
    h('li', { class: i + 1 === n ? 'current' : i + 1 < n ? 'done' : '' }, `Step ${i + 1} — ${t}`)));
}

function step1() {
  const file = h('input', { type: 'file', name: 'file', accept: '.csv,.txt,.vcf,text/csv', required: true });
  const delim = select('delimiter', [['', 'Auto-detect'], [',', 'Comma ,'], [';', 'Semicolon ;'], ['\t', 'Tab'], ['|', 'Pipe |']], st.options.delimiter || '');
  const header = h('input', { type: 'checkbox', name: 'has_header', checked: st.options.has_header ?? true });
  const tmpl = select('map_id', [['', '— none —'], ...maps.map((m) => [m.id, m.name])], st.options.map_id || '');
  const err = h('div');
  const form = h('form', { class: 'card', onsubmit: async (e) => {
    e.preventDefault();
    st.file = file.files[0] || st.file;
    if (!st.file) return;
    st.options = { delimiter: delim.value, has_header: header.checked, map_id: tmpl.value };
    const fd = new FormData();
    fd.append('file', st.file);
    if (delim.value) fd.append('delimiter', delim.value);
    fd.append('has_header', String(header.checked));
    if (tmpl.value) fd.append('map_id', tmpl.value);
    fd.append('rows', '5');
    replace(err, h('p', { class: 'muted' }, 'Reading the file…'));
    try {
      st.preview = (await request('POST', `${API}/imports/preview`, { form: fd })).data;
      st.mapping = st.preview.columns.map((c) => c.target || '');
      step2();
    } catch (ex) { replace(err, errorBox(ex)); }
  } }, steps(1),
  h('div', { class: 'form-grid' }, field('CSV file', file, 'Nothing is written until you confirm in Step 3.'),
    field('Delimiter', delim), field('Load saved template', tmpl), field('First row is a header', header)),
  h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, 'Next')), err);
  replace(root, form);
}

function step2() {
  const p = st.preview;
  const rows = p.columns.map((c, i) => h('tr', {},
    h('td', {}, h('strong', {}, c.name || `Column ${i + 1}`)),
    h('td', { class: 'muted' }, (c.samples || []).filter((s) => s !== '').slice(0, 3).join(' · ')),
    h('td', {}, select(`target-${i}`, [['', '(Ignore)'], ...TARGETS.map((t) => [t, t])], st.mapping[i],
      { 'aria-label': `Target field for ${c.name || `column ${i + 1}`}`, onchange: (e) => { st.mapping[i] = e.target.value; } }))));
  replace(root, h('div', { class: 'card' }, steps(2),
    h('p', { class: 'muted' }, `${p.format_label || p.format} · ${p.encoding} · delimiter: ${p.delimiter_name || p.delimiter} · about ${p.total_rows} rows`),
    p.warnings?.length ? h('div', { class: 'notice' }, p.warnings.join(' ')) : null,
    p.mapping_problem ? h('div', { class: 'notice' }, p.mapping_problem) : null,
    h('table', { class: 'grid', 'aria-label': 'Column mapping' }, h('thead', {}, h('tr', {}, h('th', {}, 'Column'), h('th', {}, 'Sample values'), h('th', {}, 'Target field'))), h('tbody', {}, rows)),
    h('div', { class: 'toolbar' }, h('button', { type: 'button', onclick: step1 }, 'Back'), h('button', { type: 'button', class: 'primary', onclick: step3 }, 'Next'))));
}

function step3() {
  const scopes = ['global', 'department', 'private'].filter((s) => meData.permissions[`import:${s}`]);
  const words = { global: 'All (global)', department: 'Queue (department)', private: 'Owner (private, mine)' };
  const result = h('div', { class: 'result' });
  const listExisting = select('list_id', lists.map((l) => [l.id, l.name]), lists[0]?.id);
  const listNew = h('input', { name: 'list_name', placeholder: 'New list name' });
  const form = h('form', { class: 'card', onsubmit: (e) => { e.preventDefault(); run(); } }, steps(3),
    h('div', { class: 'form-grid' },
      field('On duplicate match', select('on_duplicate', [['update', 'Update existing'], ['skip', 'Skip']], 'update')),
      field('Match keys', h('div', { class: 'toolbar' }, ['email', 'phone', 'mobile', 'external_crm_id'].map((k) =>
        h('label', {}, h('input', { type: 'checkbox', name: 'match_keys', value: k, checked: k === 'email' || k === 'phone' }), ` ${k}`)))),
      field('Import into', select('visibility', scopes.map((s) => [s, words[s]]), scopes[0])),
      deps.length ? field('Queue', select('department_id', deps.map((d) => [d.id, d.name]), deps[0].id)) : null,
      field('Add to list', select('list_mode', [['none', 'No list'], ...(lists.length ? [['existing', 'Existing list']] : []), ['new', 'New list'], ['per_row', 'Per row (_list column)']], 'none')),
      field('Existing list', listExisting), field('New list', listNew),
      field('Dry run — report counts without writing', h('input', { type: 'checkbox', name: 'dry_run', checked: true })),
      field('Save this mapping as a template', h('input', { name: 'save_as', placeholder: 'Template name (optional)' }))),
    h('div', { class: 'toolbar' }, h('button', { type: 'button', onclick: step2 }, 'Back'),
      h('button', { type: 'submit', class: 'primary', id: 'run-import' }, 'Import')), result);
  const mode = form.elements.list_mode;
  const sync = () => { listExisting.closest('.field').hidden = mode.value !== 'existing'; listNew.closest('.field').hidden = mode.value !== 'new';
    const q = form.elements.department_id; if (q) q.closest('.field').hidden = form.elements.visibility.value !== 'department'; };
  form.addEventListener('change', sync);
  replace(root, form); sync();

  async function run() {
    const f = form.elements;
    const fd = new FormData();
    fd.append('file', st.file);
    if (st.options.delimiter) fd.append('delimiter', st.options.delimiter);
    fd.append('has_header', String(st.options.has_header));
    if (st.options.map_id) fd.append('map_id', st.options.map_id);
    fd.append('mapping_json', JSON.stringify(st.mapping.map((t) => t || null)));
    fd.append('on_duplicate', f.on_duplicate.value);
    const keys = [...form.querySelectorAll('[name=match_keys]:checked')].map((x) => x.value);
    if (keys.length) fd.append('match_keys', keys.join(','));
    fd.append('visibility', f.visibility.value);
    if (f.visibility.value === 'department' && f.department_id) fd.append('department_id', f.department_id.value);
    fd.append('list_mode', f.list_mode.value);
    if (f.list_mode.value === 'existing') fd.append('list_id', listExisting.value);
    if (f.list_mode.value === 'new') fd.append('list_name', listNew.value);
    const dry = f.dry_run.checked;
    fd.append('dry_run', String(dry));
    if (f.save_as.value.trim()) fd.append('save_as', f.save_as.value.trim());
    replace(result, h('p', { class: 'muted' }, dry ? 'Checking every row…' : 'Importing…'));
    try {
      const res = await request('POST', `${API}/imports`, { form: fd });
      if (res.status === 202) await progress(res.data);
      else showCounts(res.data);
      if (res.data.map) toast(`Template “${res.data.map.name}” saved`);
      if (dry) toast('Dry run finished: nothing was written. Untick Dry run to import.');
    } catch (ex) { replace(result, errorBox(ex)); }
  }

  async function progress(job) {
    const bar = h('progress', { max: job.total_rows || 100, value: job.rows_done || 0 });
    replace(result, h('p', {}, 'Importing in the background…'), bar);
    while (job.status === 'queued' || job.status === 'running') {
      await new Promise((r) => setTimeout(r, 800));
      job = await (await fetch(`${API}/imports/${job.id}`, { credentials: 'same-origin' })).json();
      bar.max = job.total_rows || bar.max; bar.value = job.rows_done || 0;
    }
    showCounts(job);
  }

  function showCounts(job) {
    const n = (label, v) => h('div', { 'data-count': label.toLowerCase() }, h('strong', {}, String(v ?? 0)), label);
    replace(result, h('h2', {}, job.dry_run ? 'Dry run result (nothing written)' : 'Import finished'),
      h('div', { class: 'counts', 'data-testid': 'import-counts' }, n('Imported', job.imported), n('Updated', job.updated), n('Skipped', job.skipped), n('Errors', job.errors)),
      job.message ? h('p', { class: 'muted' }, job.message) : null,
      job.error_messages?.length ? h('ul', {}, job.error_messages.map((m) => h('li', {}, m))) : null,
      job.errors_url ? h('p', {}, h('a', { href: job.errors_url, download: '' }, 'Download failed rows (CSV)')) : null,
      job.dry_run ? null : h('p', {}, h('a', { href: '/admin/contacts' }, 'View contacts'), ' · ', h('a', { href: '/admin/import' }, 'Import another file')));
  }
}

step1();
void toastError; void humanize;
