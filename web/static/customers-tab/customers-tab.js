// <contacts-customers-tab>: the embeddable Customers tab. It asks the hub which panels the signed-in agent
// may see (GET /api/v1/panels), loads each panel's module from its plugin's static folder and mounts it.
import { ApiError, HubApi, errorText } from "./api.js";
import { h, replace, stateView, styles } from "./dom.js";

export const TAG = "contacts-customers-tab";
const SLOTS = ["toolbar", "main", "footer"];
/** Panels in this slot get the open contact as `element.contact`, inside the contact card. */
const CARD_SLOT = "contact-card";
/** Where this module was served from: the default hub URL when no `api-base` attribute is given. */
const HUB_ROOT = new URL("../../", import.meta.url).href;

const CSS = `
:host { display: block; background: var(--_bg); border: 1px solid var(--_border); border-radius: var(--_radius);
  min-width: 260px; height: var(--ch-height, auto); overflow: hidden; }
:host([hidden]) { display: none; }
.tab { display: flex; flex-direction: column; height: 100%; }
header { display: flex; align-items: center; gap: 8px; padding: 10px 12px; border-bottom: 1px solid var(--_border);
  background: var(--_surface); }
h2 { font-size: 1.05em; margin: 0; flex: 0 0 auto; }
.toolbar { display: flex; align-items: center; gap: 6px; flex: 1 1 auto; justify-content: flex-end; min-width: 0; }
.main { flex: 1 1 auto; min-height: 0; overflow: auto; }
.footer:empty { display: none; }
`;

export class CustomersTab extends HTMLElement {
  static observedAttributes = ["api-base", "token", "page-size", "heading"];

  #bus = new EventTarget();
  #generation = 0;
  #restartTimer = 0;
  #slots = {};
  #status;

  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    this.#status = h("div", { class: "status" });
    for (const s of SLOTS) this.#slots[s] = h("div", { class: s, "data-slot": s });
    this.#heading = h("h2", { id: "ch-title", text: this.getAttribute("heading") || "Customers" });
    root.append(styles(CSS), h("section", { class: "tab", role: "region", "aria-labelledby": "ch-title" },
      h("header", {}, this.#heading, this.#slots.toolbar), this.#status, this.#slots.main, this.#slots.footer));
  }

  #heading;

  /** The hub's base URL (the API lives under `${apiBase}/api/v1`). */
  get apiBase() {
    return this.getAttribute("api-base") || HUB_ROOT;
  }

  get pageSize() {
    const n = parseInt(this.getAttribute("page-size") || "25", 10);
    return Number.isFinite(n) ? Math.min(Math.max(n, 1), 200) : 25;
  }

  connectedCallback() {
    if (!this.#generation) this.#start();
  }

  disconnectedCallback() {
    this.#generation++;
  }

  attributeChangedCallback(name, old, value) {
    if (name === "heading") this.#heading.textContent = value || "Customers";
    else if (this.isConnected && this.#generation && old !== value) {
      clearTimeout(this.#restartTimer);
      this.#restartTimer = setTimeout(() => this.#start(), 0);
    }
  }

  /** Reload the panels (after a sign-in, or when the host changes the token). */
  reload() {
    return this.#start();
  }

  async #start() {
    const gen = ++this.#generation;
    for (const s of SLOTS) replace(this.#slots[s]);
    replace(this.#status, stateView("loading", "Loading customers…"));
    this.setAttribute("aria-busy", "true");
    const api = new HubApi({ base: this.apiBase, token: this.getAttribute("token") || "" });
    try {
      const me = await api.get("/me");
      if (me.csrf_token) api.csrf = me.csrf_token;
      const panels = await api.get("/panels");
      if (gen !== this.#generation) return;
      const ctx = this.#context(api, me);
      const failed = [];
      // Modules load in parallel; panels mount in the server's order.
      const loaded = await Promise.all(panels.map((p) => import(api.resolve(p.module_url)).then(
        () => customElements.whenDefined(p.tag), (err) => { failed.push([p, err]); return null; })));
      if (gen !== this.#generation) return;
      panels.forEach((p, i) => {
        if (loaded[i] === null) return;
        if (p.slot === CARD_SLOT) {  // mounted by the sidebar inside each contact card
          ctx.cardPanels.push(p);
          return;
        }
        const el = document.createElement(p.tag);
        el.hub = ctx;
        el.dataset.panel = p.name;
        if (p.label) el.setAttribute("aria-label", p.label);
        (this.#slots[p.slot] || this.#slots.main).append(el);
      });
      replace(this.#status, failed.length ? stateView("error", `Some panels could not be loaded: ${
        failed.map(([p]) => p.label || p.name).join(", ")}.`) : null);
      this.removeAttribute("aria-busy");
      this.dispatchEvent(new CustomEvent("contacts-hub:ready", {
        bubbles: true, composed: true, detail: { user: me.username, role: me.role, panels: panels.map((p) => p.name) },
      }));
    } catch (err) {
      if (gen !== this.#generation) return;
      this.removeAttribute("aria-busy");
      replace(this.#status, stateView("error", errorText(err), () => this.#start()));
      this.dispatchEvent(new CustomEvent("contacts-hub:error", {
        bubbles: true, composed: true, detail: { status: err instanceof ApiError ? err.status : 0, message: errorText(err) },
      }));
    }
  }

  /** What every panel receives as `element.hub`: the API client, the principal, shared state and an event bus. */
  #context(api, me) {
    const bus = this.#bus = new EventTarget();
    const host = this;
    return {
      api,
      me,
      pageSize: this.pageSize,
      cardPanels: [],
      state: { listId: null, listName: "All contacts" },
      on(type, fn) {
        bus.addEventListener(type, (e) => fn(e.detail));
      },
      emit(type, detail = {}) {
        if (type === "list-change") Object.assign(this.state, { listId: detail.listId ?? null, listName: detail.name });
        bus.dispatchEvent(new CustomEvent(type, { detail }));
        host.dispatchEvent(new CustomEvent(`contacts-hub:${type}`, { bubbles: true, composed: true, detail }));
      },
    };
  }
}

if (!customElements.get(TAG)) customElements.define(TAG, CustomersTab);
