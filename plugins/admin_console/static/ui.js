// DOM helpers: elements are built with DOM APIs and textContent only (never innerHTML).
import { get, describeError } from './api.js';

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'open') el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const view = () => document.getElementById('view');
export const appData = () => document.getElementById('app').dataset;

export function replace(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c != null && c !== false));
  return el;
}
export const loading = (el, text = 'Loading…') => replace(el, h('p', { class: 'muted loading' }, text));
export const empty = (text) => h('div', { class: 'empty' }, text);
export const errorBox = (err) => h('div', { class: 'error-box', role: 'alert' }, describeError(err));

export function toast(text, kind = '') {
  const t = h('div', { class: `toast ${kind}`, role: 'status' }, text);
  document.getElementById('toasts').append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
}
export const toastError = (err) => toast(describeError(err), 'error');

/** A modal confirmation with the given text; resolves true on "Yes". */
export function confirmDialog(text, { yes = 'Yes', no = 'Cancel', danger = false } = {}) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'confirm', 'aria-label': 'Confirm' },
      h('p', { class: 'confirm-text' }, text),
      h('div', { class: 'actions' },
        h('button', { type: 'button', value: 'no', onclick: () => dlg.close('no') }, no),
        h('button', { type: 'button', class: danger ? 'danger' : 'primary', value: 'yes', onclick: () => dlg.close('yes') }, yes)));
    dlg.addEventListener('close', () => { resolve(dlg.returnValue === 'yes'); dlg.remove(); });
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** A small modal form; ``build`` returns the inner fields; resolves FormData-like object or null. */
export function formDialog(title, fields, { ok = 'OK' } = {}) {
  return new Promise((resolve) => {
    const form = h('form', { method: 'dialog' }, h('h2', {}, title), fields,
      h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: () => dlg.close('') }, 'Cancel'),
        h('button', { type: 'submit', class: 'primary', value: 'ok' }, ok)));
    const dlg = h('dialog', { 'aria-label': title }, form);
    dlg.addEventListener('close', () => {
      const out = dlg.returnValue === 'ok' ? Object.fromEntries(new FormData(form)) : null;
      resolve(out); dlg.remove();
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

export function field(label, control, help) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  if (control.type === 'checkbox') {
    return h('div', { class: 'field check' }, h('label', { for: id }, control, label), help && h('div', { class: 'help' }, help));
  }
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, help && h('div', { class: 'help' }, help));
}

export function select(name, options, value, attrs = {}) {
  return h('select', { name, ...attrs },
    options.map(([v, label]) => h('option', { value: v, selected: String(v) === String(value ?? '') }, label)));
}

export const humanize = (s) => (s || '').replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
export const fmtDate = (iso) => (iso ? new Date(iso).toLocaleString() : '');

let meCache;
export const me = () => (meCache ||= get('/me'));

/** Departments the user may target: all for admins, own admin departments for department admins. */
export async function departmentsFor(meData) {
  const all = await get('/departments');
  return meData.role === 'admin' ? all : all.filter((d) => meData.admin_departments.includes(d.id));
}

/** Run ``fn`` and show an error box in ``el`` if it throws. */
export async function guarded(el, fn) {
  try { await fn(); } catch (err) { replace(el, errorBox(err)); console.error(err); }
}

/** A table from column specs [{label, cell(row)}]; ``empty`` text when there are no rows. */
export function table(label, columns, rows, emptyText = 'Nothing here yet.') {
  if (!rows.length) return empty(emptyText);
  return h('table', { class: 'grid', 'aria-label': label },
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {}, c.label)))),
    h('tbody', {}, rows.map((r) => h('tr', { 'data-id': r.id }, columns.map((c) => h('td', {}, c.cell(r)))))));
}

/** A standard page: a create form card on top (optional) and a list below, reloaded after changes. */
export async function crudPage({ createForm, load, render }) {
  const root = view();
  const listBox = h('div', { class: 'list' });
  const reload = async () => {
    loading(listBox);
    try { replace(listBox, render(await load(), reload)); } catch (err) { replace(listBox, errorBox(err)); }
  };
  replace(root, createForm ? createForm(reload) : null, listBox);
  await reload();
}
