// Contacts grid: filters, search, keyset paging, bulk actions (toolbar and right-click menu), timeline badge.
import { get, post } from './api.js';
import { h, view, replace, loading, empty, errorBox, toast, toastError, confirmDialog, formDialog, field, select,
  humanize, fmtDate, me, departmentsFor } from './ui.js';

const STATUSES = [['', 'Any status'], ['active', 'Active'], ['inactive', 'Inactive'], ['do_not_contact', 'Do Not Contact']];
const SOURCES = ['web_form', 'referral', 'trade_show', 'cold_call', 'website', 'import', 'directory_import', 'api',
  'manual', 'social_media', 'lead_conversion', 'sync'];
const state = { filters: {}, cursors: [null], page: 0, selected: new Set(), items: [], total: null };
let users = new Map();
let lists = [];
let meData;

async function init() {
  const root = view();
  meData = await me();
  const [accounts, allLists] = await Promise.all([get('/accounts'), get('/lists')]);
  lists = allLists;
  try { users = new Map((await get('/users')).map((u) => [u.id, u.display_name || u.username])); } catch { users = new Map(); }
  const search = h('input', { type: 'search', name: 'q', placeholder: 'Search name, company, e-mail or phone', 'aria-label': 'Search', size: 34 });
  const filterBar = h('form', { class: 'toolbar filters', 'aria-label': 'Filters', onsubmit: (e) => { e.preventDefault(); apply(); } },
    search,
    select('status', STATUSES, '', { 'aria-label': 'Status' }),
    select('acquisition_source', [['', 'Any source'], ...SOURCES.map((s) => [s, humanize(s)])], '', { 'aria-label': 'Source' }),
    select('account_id', [['', 'Any account'], ...accounts.map((a) => [a.id, a.name])], '', { 'aria-label': 'Account' }),
    select('has_activities', [['', 'Activities: any'], ['true', 'Has activities'], ['false', 'No activities']], '', { 'aria-label': 'Has Activities' }),
    h('input', { name: 'tag', placeholder: 'Tag contains…', 'aria-label': 'Tags', size: 14 }),
    h('button', { type: 'submit', class: 'primary' }, 'Apply'),
    h('button', { type: 'button', onclick: () => { filterBar.reset(); apply(); } }, 'Clear'));
  filterBar.addEventListener('change', () => apply());
  const bulk = h('div', { class: 'toolbar bulk' },
    h('span', { class: 'muted', id: 'selcount' }, 'No contacts selected'),
    h('button', { type: 'button', 'data-bulk': '1', onclick: addToList }, 'Add to List'),
    h('button', { type: 'button', 'data-bulk': '1', onclick: () => tagAction('add_tag') }, 'Add Tag'),
    h('button', { type: 'button', 'data-bulk': '1', onclick: () => tagAction('remove_tag') }, 'Remove Tag'),
    h('button', { type: 'button', 'data-bulk': '1', onclick: assignQueue }, 'Assign to Queue'),
    h('button', { type: 'button', 'data-bulk': '1', class: 'danger', onclick: deleteSelected }, 'Delete Selected'),
    h('span', { class: 'spacer' }),
    h('a', { class: 'button', href: '/admin/import' }, 'Import CSV'),
    h('a', { class: 'button primary', href: '/admin/contacts/new' }, 'New contact'));
  replace(root, filterBar, bulk, h('div', { id: 'grid' }), h('div', { class: 'pager', id: 'pager' }));
  function apply() {
    const fd = new FormData(filterBar);
    state.filters = Object.fromEntries([...fd.entries()].filter(([, v]) => v !== ''));
    state.cursors = [null]; state.page = 0; state.total = null;
    load();
  }
  await load();
}

async function load() {
  const grid = document.getElementById('grid');
  loading(grid);
  state.selected.clear(); updateSelection();
  try {
    const params = { ...state.filters, limit: 25, after: state.cursors[state.page], with_total: state.page === 0 };
    const data = await get('/contacts', params);
    state.items = data.items;
    if (state.page === 0) state.total = data.total;
    state.cursors[state.page + 1] = data.next;
    renderGrid(grid);
    renderPager(data.next);
  } catch (err) { replace(grid, errorBox(err)); }
}

function phoneCell(c) {
  if (!c.phones?.length) return '';
  const main = c.phones[0].number;
  return c.phones.length > 1 ? `${main} (+${c.phones.length - 1})` : main;
}

function ownerName(c) {
  if (!c.owner_id) return '';
  return users.get(c.owner_id) || (c.owner_id === meData.user_id ? meData.username : `User #${c.owner_id}`);
}

function renderGrid(grid) {
  if (!state.items.length) { replace(grid, empty('No contacts match these filters.')); return; }
  const all = h('input', { type: 'checkbox', 'aria-label': 'Select all', onchange: (e) => {
    for (const c of state.items) e.target.checked ? state.selected.add(c.id) : state.selected.delete(c.id);
    grid.querySelectorAll('tbody input[type=checkbox]').forEach((b) => { b.checked = e.target.checked; b.closest('tr').classList.toggle('selected', b.checked); });
    updateSelection();
  } });
  const rows = state.items.map((c) => {
    const box = h('input', { type: 'checkbox', 'aria-label': `Select ${c.display_name}`, onchange: (e) => {
      e.target.checked ? state.selected.add(c.id) : state.selected.delete(c.id);
      tr.classList.toggle('selected', e.target.checked); updateSelection();
    } });
    const tr = h('tr', { 'data-id': c.id, oncontextmenu: (e) => rowMenu(e, c, box) },
      h('td', {}, box),
      h('td', {}, h('a', { href: `/admin/contacts/${c.id}` }, c.display_name || '(no name)')),
      h('td', {}, c.emails?.[0]?.address || ''),
      h('td', { class: 'phone' }, phoneCell(c)),
      h('td', {}, c.company || ''),
      h('td', { class: `status-${c.status}` }, humanize(c.status)),
      h('td', {}, c.source_id ? 'Sync' : humanize(c.acquisition_source || '')),
      h('td', {}, ownerName(c)),
      h('td', { class: 'tags' }, (c.tags || []).map((t) => h('span', { class: 'tag' }, t))),
      h('td', {}, h('button', { type: 'button', class: 'activities', onclick: () => timeline(c) },
        `${c.activity_count || 0} ${c.activity_count === 1 ? "Activity" : "Activities"}`)));
    return tr;
  });
  replace(grid, h('table', { class: 'grid', 'aria-label': 'Contacts' },
    h('thead', {}, h('tr', {}, h('th', {}, all), ['Name', 'Email', 'Phone', 'Company', 'Status', 'Source',
      'Assigned agent', 'Tags', 'Activities'].map((t) => h('th', {}, t)))),
    h('tbody', {}, rows)));
}

function renderPager(next) {
  const shown = state.items.length;
  const from = state.page * 25 + (shown ? 1 : 0);
  replace(document.getElementById('pager'),
    h('button', { type: 'button', disabled: state.page === 0, onclick: () => { state.page -= 1; load(); } }, '‹ Previous'),
    h('span', { class: 'muted', id: 'range' }, `${from}–${state.page * 25 + shown}${state.total != null ? ` of ${state.total}` : ''}`),
    h('button', { type: 'button', disabled: !next, onclick: () => { state.page += 1; load(); } }, 'Next ›'));
}

function updateSelection() {
  const n = state.selected.size;
  const label = document.getElementById('selcount');
  if (label) label.textContent = n ? `${n} selected` : 'No contacts selected';
  document.querySelectorAll('[data-bulk]').forEach((b) => { b.disabled = !n; });
}

function rowMenu(e, c, box) {
  e.preventDefault();
  if (!state.selected.has(c.id)) { box.checked = true; box.dispatchEvent(new Event('change')); }
  document.querySelector('.menu')?.remove();
  const close = () => menu.remove();
  const item = (label, fn) => h('button', { type: 'button', role: 'menuitem', onclick: () => { close(); fn(); } }, label);
  const menu = h('div', { class: 'menu', role: 'menu', style: `left:${e.pageX}px;top:${e.pageY}px` },
    item('Add to List', addToList), item('Add Tag', () => tagAction('add_tag')), item('Remove Tag', () => tagAction('remove_tag')),
    item('Assign to Queue', assignQueue), item('Delete Selected', deleteSelected));
  document.body.append(menu);
  setTimeout(() => document.addEventListener('click', close, { once: true }));
}

async function runBulk(action, extra, verb) {
  try {
    const res = await post('/contacts/bulk', { ids: [...state.selected], action, ...extra });
    const notes = [];
    if (res.denied.length) notes.push(`${res.denied.length} not allowed`);
    if (res.not_found.length) notes.push(`${res.not_found.length} not found`);
    toast(`${verb}: ${res.done} contact(s)${notes.length ? ` (${notes.join(', ')})` : ''}`);
    await load();
  } catch (err) { toastError(err); }
}

async function tagAction(action) {
  const input = h('input', { name: 'tag', required: true, autofocus: true, list: 'tag-options' });
  const tags = await get('/tags').catch(() => []);
  const out = await formDialog(action === 'add_tag' ? 'Add tag' : 'Remove tag',
    [field('Tag', input), h('datalist', { id: 'tag-options' }, tags.map((t) => h('option', { value: t.name })))],
    { ok: action === 'add_tag' ? 'Add tag' : 'Remove tag' });
  if (out?.tag) await runBulk(action, { tag: out.tag.trim() }, action === 'add_tag' ? `Tag “${out.tag}” added` : `Tag “${out.tag}” removed`);
}

async function addToList() {
  const statics = lists.filter((l) => l.kind === 'static');
  if (!statics.length) { toast('Create a static list first (Lists page).', 'error'); return; }
  const out = await formDialog('Add to list', field('List', select('list_id', statics.map((l) => [l.id, l.name]), statics[0].id)), { ok: 'Add' });
  if (out) await runBulk('add_to_list', { list_id: Number(out.list_id) }, 'Added to list');
}

async function assignQueue() {
  const deps = await departmentsFor(meData);
  if (!deps.length) { toast('No queue you may assign to.', 'error'); return; }
  const out = await formDialog('Assign to queue', [h('p', { class: 'muted' }, 'Sets visibility to “Queue”: only members of the queue will see these contacts.'),
    field('Queue', select('department_id', deps.map((d) => [d.id, d.name]), deps[0].id))], { ok: 'Assign' });
  if (out) await runBulk('assign_to_queue', { department_id: Number(out.department_id) }, 'Assigned to queue');
}

async function deleteSelected() {
  const n = state.selected.size;
  if (await confirmDialog(`Delete ${n} selected contact(s)? This cannot be undone.`, { yes: 'Delete', danger: true })) {
    await runBulk('delete', {}, 'Deleted');
  }
}

async function timeline(c) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const dlg = h('dialog', { 'aria-label': 'Timeline', style: 'max-width:640px;width:90vw' },
    h('h2', {}, `Timeline — ${c.display_name}`), body,
    h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => dlg.close() }, 'Close')));
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg); dlg.showModal();
  try {
    const acts = await get(`/contacts/${c.id}/timeline`, { order: 'desc' });
    replace(body, acts.length ? h('table', { class: 'grid' }, h('tbody', {}, acts.map((a) => h('tr', {},
      h('td', {}, fmtDate(a.occurred_at)), h('td', {}, humanize(a.kind)), h('td', {}, a.direction || ''),
      h('td', {}, a.summary || ''), h('td', {}, a.agent || ''))))) : empty('No activities yet.'));
  } catch (err) { replace(body, errorBox(err)); }
}

init().catch((err) => replace(view(), errorBox(err)));
