// <ch-list-dropdown>: "All contacts" plus every static and dynamic list the agent may see, with live counts.
import { errorText } from "/assets/customers-tab/api.js";
import { h, replace, styles } from "/assets/customers-tab/dom.js";

const CSS = `
:host { display: inline-flex; align-items: center; gap: 6px; min-width: 0; }
select { max-width: 100%; min-width: 0; padding: 4px 8px; border: 1px solid var(--_border); border-radius: var(--_radius);
  background: var(--_bg); }
.err { color: var(--_danger); font-size: .85em; }
`;

export class ListDropdown extends HTMLElement {
  hub = null;
  #seq = 0;

  connectedCallback() {
    if (this.shadowRoot) return;
    const root = this.attachShadow({ mode: "open" });
    this.select = h("select", { id: "list", onchange: () => this.#changed() },
      h("option", { value: "", text: "All contacts" }));
    this.note = h("span", { class: "err", role: "alert" });
    root.append(styles(CSS), h("label", { for: "list", class: "sr-only", text: "Contact list" }), this.select, this.note);
    if (this.hub) {
      this.hub.on("refresh", () => this.#load());
      this.#load();
    }
  }

  #changed() {
    const opt = this.select.selectedOptions[0];
    const listId = this.select.value ? Number(this.select.value) : null;
    this.hub.emit("list-change", { listId, name: opt?.dataset.name || "All contacts" });
  }

  async #load() {
    const seq = ++this.#seq;
    const { api } = this.hub;
    this.select.setAttribute("aria-busy", "true");
    try {
      const [lists, all] = await Promise.all([api.get("/lists"),
        api.get("/contacts", { limit: 1, with_total: true })]);
      if (seq !== this.#seq) return;
      this.#render(lists, all.total);
      replace(this.note);
    } catch (err) {
      if (seq === this.#seq) replace(this.note, `Lists unavailable: ${errorText(err)}`);
    } finally {
      if (seq === this.#seq) this.select.removeAttribute("aria-busy");
    }
  }

  #render(lists, total) {
    const current = this.select.value;
    const option = (value, name, count) => h("option", { value, "data-name": name,
      text: count === undefined || count === null ? name : `${name} (${count})` });
    const group = (kind, label) => {
      const items = lists.filter((l) => l.kind === kind);
      return items.length ? h("optgroup", { label }, items.map((l) => option(l.id, l.name, l.count))) : null;
    };
    replace(this.select, option("", "All contacts", total), group("static", "Static lists"),
      group("dynamic", "Dynamic lists"));
    const still = [...this.select.options].some((o) => o.value === current);
    this.select.value = still ? current : "";
    if (!still && current) this.#changed();
  }
}

if (!customElements.get("ch-list-dropdown")) customElements.define("ch-list-dropdown", ListDropdown);
