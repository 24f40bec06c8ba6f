// DOM helpers for the Customers tab and its panels: contact data only ever becomes text nodes or attributes.

const PROPS = new Set(["value", "checked"]);

/**
 * Build an element. `props`: `class`, `text` (textContent), `on<event>` listeners, `value`/`checked`
 * properties; everything else becomes an attribute (`true` -> empty, `false`/null -> absent).
 * Children: nodes, strings (as text nodes), arrays, null. There is deliberately no way to set HTML.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = String(v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (PROPS.has(k)) el[k] = v;
    else if (/html/i.test(k)) throw new Error("h(): HTML properties are not allowed");
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace an element's children (text or nodes). */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A <style> element with the shared theme; custom properties inherit through every shadow root. */
export function styles(css = "") {
  return h("style", { text: BASE_CSS + css });
}

export const BASE_CSS = `
:host {
  --_accent: var(--ch-accent, #2563eb);
  --_accent-fg: var(--ch-accent-fg, #fff);
  --_bg: var(--ch-bg, #fff);
  --_surface: var(--ch-surface, #f6f7f9);
  --_fg: var(--ch-fg, #1f2933);
  --_muted: var(--ch-muted, #5f6b7a);
  --_border: var(--ch-border, #d9dee5);
  --_danger: var(--ch-danger, #b42318);
  --_radius: var(--ch-radius, 8px);
  --_focus: var(--ch-focus, var(--_accent));
  font-family: var(--ch-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  font-size: var(--ch-font-size, 14px);
  color: var(--_fg);
}
* { box-sizing: border-box; }
button, input, select { font: inherit; color: inherit; }
button { cursor: pointer; }
:focus-visible { outline: 2px solid var(--_focus); outline-offset: 2px; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
.btn { border: 1px solid var(--_border); background: var(--_bg); border-radius: var(--_radius);
  padding: 4px 10px; }
.btn:hover:not([disabled]) { border-color: var(--_accent); }
.btn[disabled] { opacity: .5; cursor: default; }
.btn.primary { background: var(--_accent); color: var(--_accent-fg); border-color: var(--_accent); }
.state { padding: 16px 8px; color: var(--_muted); text-align: center; }
.state.error { color: var(--_danger); }
.spinner { display: inline-block; width: 12px; height: 12px; border: 2px solid var(--_border);
  border-top-color: var(--_accent); border-radius: 50%; animation: spin .8s linear infinite;
  vertical-align: -2px; margin-right: 6px; }
@keyframes spin { to { transform: rotate(360deg); } }
@media (prefers-reduced-motion: reduce) { .spinner { animation: none; } }
`;

/** The loading / empty / error line used by every panel. `retry` adds a Retry button to errors. */
export function stateView(kind, message, retry) {
  if (kind === "loading") {
    return h("div", { class: "state loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }),
      message || "Loading…");
  }
  if (kind === "error") {
    return h("div", { class: "state error", role: "alert" }, message || "Something went wrong.",
      retry ? [" ", h("button", { class: "btn", type: "button", onclick: retry, text: "Retry" })] : null);
  }
  return h("div", { class: "state empty", role: "status" }, message);
}
