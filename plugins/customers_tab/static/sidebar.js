// <ch-customers-sidebar>: search, A–Z jump, paging, the contact card and its timeline (Customers tab panel).
import { errorText } from "/assets/customers-tab/api.js";
import { h, replace, stateView, styles } from "/assets/customers-tab/dom.js";

const LETTERS = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZ", "#"];
const CSS = `
:host { display: block; }
.search { padding: 10px 12px 6px; }
.search input { width: 100%; padding: 6px 10px; border: 1px solid var(--_border); border-radius: var(--_radius);
  background: var(--_bg); }
.az { display: flex; flex-wrap: wrap; gap: 2px; padding: 0 10px 6px; }
.az button { border: 0; background: none; padding: 2px 4px; min-width: 20px; border-radius: 4px; color: var(--_muted);
  font-size: .85em; }
.az button[aria-pressed="true"] { background: var(--_accent); color: var(--_accent-fg); }
.summary { margin: 0; padding: 2px 12px 6px; color: var(--_muted); font-size: .85em; }
ul.results { list-style: none; margin: 0; padding: 0; border-top: 1px solid var(--_border); }
ul.results li { display: flex; align-items: center; gap: 8px; padding: 8px 12px; border-bottom: 1px solid var(--_border);
  cursor: pointer; }
ul.results li:hover, ul.results li:focus { background: var(--_surface); }
.avatar { flex: 0 0 32px; height: 32px; border-radius: 50%; background: var(--_surface); border: 1px solid var(--_border);
  display: grid; place-items: center; font-weight: 600; color: var(--_accent); }
.who { flex: 1 1 auto; min-width: 0; }
.name { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.sub { color: var(--_muted); font-size: .85em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.badge { background: var(--_accent); color: var(--_accent-fg); border-radius: 999px; padding: 0 7px; font-size: .8em;
  min-width: 20px; text-align: center; }
nav.pager { display: flex; align-items: center; justify-content: space-between; gap: 8px; padding: 8px 12px; }
nav.pager span { color: var(--_muted); font-size: .85em; }
.detail { padding: 10px 12px; }
.detail h3 { margin: 10px 0 2px; font-size: 1.15em; overflow-wrap: anywhere; }
.detail h4 { margin: 14px 0 4px; font-size: .8em; text-transform: uppercase; letter-spacing: .04em; color: var(--_muted); }
.detail ul { list-style: none; margin: 0; padding: 0; }
.detail li { display: flex; gap: 8px; align-items: baseline; padding: 2px 0; overflow-wrap: anywhere; }
.label { color: var(--_muted); font-size: .8em; min-width: 56px; text-transform: capitalize; }
.dial { border: 0; background: none; color: var(--_accent); padding: 0; text-decoration: underline; }
a { color: var(--_accent); }
.tags { display: flex; flex-wrap: wrap; gap: 4px; }
.tag { background: var(--_surface); border: 1px solid var(--_border); border-radius: 999px; padding: 0 8px; font-size: .85em; }
.notes { white-space: pre-wrap; margin: 0; overflow-wrap: anywhere; }
.activities { margin-top: 14px; display: inline-flex; gap: 6px; align-items: center; }
ol.timeline { list-style: none; margin: 8px 0 0; padding: 0 0 0 14px; border-left: 2px solid var(--_border); }
ol.timeline li { display: block; position: relative; padding: 0 0 12px 4px; }
ol.timeline li::before { content: ""; position: absolute; left: -21px; top: 4px; width: 10px; height: 10px;
  border-radius: 50%; background: var(--_accent); }
ol.timeline time { color: var(--_muted); font-size: .8em; display: block; }
.kind { font-weight: 600; text-transform: capitalize; }
`;

function initials(c) {
  const s = (c.first_name || c.last_name || c.company || c.display_name || "?").trim();
  return (s[0] || "?").toUpperCase();
}

export class CustomersSidebar extends HTMLElement {
  hub = null;
  #q = "";
  #letter = "";
  #cursors = [null];
  #page = null;
  #seq = 0;
  #timer = 0;
  #view = "list";
  #contact = null;
  #active = 0;

  connectedCallback() {
    if (this.shadowRoot) return;
    const root = this.attachShadow({ mode: "open" });
    this.search = h("input", { id: "q", type: "search", placeholder: "Search name, company, e-mail or phone",
      autocomplete: "off", "aria-controls": "results", oninput: () => this.#debouncedSearch() });
    this.az = h("div", { class: "az", role: "toolbar", "aria-label": "Jump to letter", onkeydown: (e) => this.#azKeys(e) },
      ["", ...LETTERS].map((l, i) => h("button", { type: "button", "data-letter": l, "aria-pressed": String(l === ""),
        tabindex: i === 0 ? "0" : "-1", "aria-label": l === "" ? "All letters" : l === "#" ? "Other characters" : `Letter ${l}`,
        text: l === "" ? "All" : l, onclick: () => this.#setLetter(l) })));
    this.summary = h("p", { class: "summary", role: "status", "aria-live": "polite" });
    this.results = h("ul", { id: "results", class: "results", role: "listbox", "aria-label": "Contacts",
      onkeydown: (e) => this.#listKeys(e) });
    this.state = h("div");
    this.prev = h("button", { class: "btn", type: "button", text: "‹ Previous", onclick: () => this.#go(-1) });
    this.next = h("button", { class: "btn", type: "button", text: "Next ›", onclick: () => this.#go(1) });
    this.pageInfo = h("span");
    this.listView = h("div", { class: "list-view" },
      h("div", { class: "search", role: "search" }, h("label", { for: "q", class: "sr-only", text: "Search contacts" }),
        this.search),
      this.az, this.summary, this.results, this.state,
      h("nav", { class: "pager", "aria-label": "Pagination" }, this.prev, this.pageInfo, this.next));
    this.detail = h("div", { class: "detail", hidden: true, onkeydown: (e) => { if (e.key === "Escape") this.#back(); } });
    root.append(styles(CSS), this.listView, this.detail);
    if (this.hub) {
      this.hub.on("list-change", () => this.#reset());
      this.hub.on("refresh", () => this.#load());
      this.#load();
    }
  }

  #debouncedSearch() {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#q = this.search.value.trim();
      this.#reset();
    }, 250);
  }

  #setLetter(letter) {
    this.#letter = letter;
    for (const b of this.az.children) {
      const on = b.dataset.letter === letter;
      b.setAttribute("aria-pressed", String(on));
      b.tabIndex = on ? 0 : -1;
    }
    this.#reset();
  }

  #azKeys(e) {
    const buttons = [...this.az.children];
    const i = buttons.indexOf(this.shadowRoot.activeElement);
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: buttons.length - 1 }[e.key];
    if (to === undefined || i < 0) return;
    e.preventDefault();
    const b = buttons[(to + buttons.length) % buttons.length];
    buttons.forEach((x) => { x.tabIndex = x === b ? 0 : -1; });
    b.focus();
  }

  #reset() {
    this.#cursors = [null];
    this.#showList();
    this.#load();
  }

  #go(delta) {
    if (delta > 0 && this.#page?.next) this.#cursors.push(this.#page.next);
    else if (delta < 0 && this.#cursors.length > 1) this.#cursors.pop();
    else return;
    this.#load();
  }

  async #load() {
    const seq = ++this.#seq;
    const { api, pageSize, state } = this.hub;
    this.results.setAttribute("aria-busy", "true");
    replace(this.state, stateView("loading", "Loading contacts…"));
    this.prev.disabled = this.next.disabled = true;
    try {
      const page = await api.get("/contacts", { q: this.#q, letter: this.#letter, list_id: state.listId,
        after: this.#cursors.at(-1), limit: pageSize, with_total: true });
      if (seq !== this.#seq) return;
      this.#page = page;
      this.#renderPage(page);
    } catch (err) {
      if (seq !== this.#seq) return;
      replace(this.results);
      replace(this.summary);
      replace(this.pageInfo);
      replace(this.state, stateView("error", errorText(err), () => this.#load()));
    } finally {
      if (seq === this.#seq) this.results.removeAttribute("aria-busy");
    }
  }

  #renderPage(page) {
    const { pageSize, state } = this.hub;
    const index = this.#cursors.length - 1;
    const total = page.total ?? page.items.length;
    const first = index * pageSize + 1;
    const where = state.listId ? ` in ${state.listName}` : "";
    replace(this.summary, total ? `${first}–${first + page.items.length - 1} of ${total} contact${total === 1 ? "" : "s"}${where}`
      : "");
    replace(this.results, page.items.map((c, i) => this.#row(c, i)));
    this.#active = 0;
    const filtered = this.#q || this.#letter || state.listId;
    replace(this.state, page.items.length ? null
      : stateView("empty", filtered ? "No contacts match." : "No contacts yet."));
    this.prev.disabled = index === 0;
    this.next.disabled = !page.next;
    const pages = Math.max(1, Math.ceil(total / pageSize));
    replace(this.pageInfo, `Page ${index + 1} of ${pages}`);
  }

  #row(c, i) {
    const sub = [c.company, c.phones?.[0]?.number].filter(Boolean).join(" · ");
    return h("li", { role: "option", tabindex: i === 0 ? "0" : "-1", "aria-selected": "false", "data-id": c.id,
      onclick: () => this.#open(c.id) },
      h("span", { class: "avatar", "aria-hidden": "true", text: initials(c) }),
      h("span", { class: "who" }, h("div", { class: "name", text: c.display_name }),
        sub ? h("div", { class: "sub", text: sub }) : null),
      c.activity_count ? h("span", { class: "badge", title: "Activities", text: c.activity_count,
        "aria-label": `${c.activity_count} activities` }) : null);
  }

  #listKeys(e) {
    const items = [...this.results.children];
    if (!items.length) return;
    const i = Math.max(0, items.indexOf(this.shadowRoot.activeElement));
    const to = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: items.length - 1 }[e.key];
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      this.#open(Number(items[i].dataset.id));
      return;
    }
    if (to === undefined) return;
    e.preventDefault();
    const item = items[Math.min(Math.max(to, 0), items.length - 1)];
    items.forEach((x) => { x.tabIndex = x === item ? 0 : -1; x.setAttribute("aria-selected", String(x === item)); });
    item.focus();
  }

  #showList() {
    this.#view = "list";
    this.detail.hidden = true;
    this.listView.hidden = false;
  }

  #back() {
    if (this.#view === "timeline") this.#renderCard(this.#contact);
    else {
      const id = this.#contact?.id;
      this.#showList();
      const row = [...this.results.children].find((li) => Number(li.dataset.id) === id);
      (row || this.search).focus();
    }
  }

  #showDetail(...children) {
    this.listView.hidden = true;
    this.detail.hidden = false;
    replace(this.detail, children);
  }

  async #open(id) {
    this.#view = "card";
    this.#showDetail(this.#backButton("‹ Back to list"), stateView("loading", "Loading contact…"));
    try {
      this.#contact = await this.hub.api.get(`/contacts/${id}`);
      this.#renderCard(this.#contact);
    } catch (err) {
      this.#showDetail(this.#backButton("‹ Back to list"), stateView("error", errorText(err), () => this.#open(id)));
    }
    this.dispatchEvent(new CustomEvent("contacts-hub:contact-open", { bubbles: true, composed: true,
      detail: { id } }));
  }

  #backButton(text) {
    return h("button", { class: "btn back", type: "button", text, onclick: () => this.#back() });
  }

  #renderCard(c) {
    this.#view = "card";
    const titleLine = [c.title, c.company].filter(Boolean).join(" · ");
    const phones = (c.phones || []).map((p) => h("li", {},
      h("span", { class: "label", text: p.label }),
      h("button", { class: "dial", type: "button", text: p.number, title: `Call ${p.e164 || p.number}`,
        "aria-label": `Call ${c.display_name} on ${p.label} ${p.number}`, onclick: (e) => this.#dial(e, c, p) }),
      p.extension ? h("span", { class: "label", text: `ext. ${p.extension}` }) : null));
    const emails = (c.emails || []).map((m) => h("li", {}, h("span", { class: "label", text: m.label }),
      h("a", { href: `mailto:${encodeURIComponent(m.address).replace(/%40/g, "@")}`, text: m.address })));
    const count = c.activity_count || 0;
    this.#showDetail(
      this.#backButton("‹ Back to list"),
      h("article", { class: "card", "aria-labelledby": "card-name" },
        h("h3", { id: "card-name", tabindex: "-1", text: c.display_name }),
        titleLine ? h("div", { class: "sub", text: titleLine }) : null,
        h("h4", { text: "Phones" }), phones.length ? h("ul", { class: "phones" }, phones) : h("div", { class: "sub", text: "No phone numbers" }),
        h("h4", { text: "E-mails" }), emails.length ? h("ul", { class: "emails" }, emails) : h("div", { class: "sub", text: "No e-mail addresses" }),
        c.company ? [h("h4", { text: "Company" }), h("div", { class: "company", text: c.company })] : null,
        c.tags?.length ? [h("h4", { text: "Tags" }), h("div", { class: "tags", role: "list" },
          c.tags.map((t) => h("span", { class: "tag", role: "listitem", text: t })))] : null,
        c.notes ? [h("h4", { text: "Notes" }), h("p", { class: "notes", text: c.notes })] : null,
        h("button", { class: "btn activities", type: "button", onclick: () => this.#timeline(c),
          "aria-label": `Activities: ${count}. Open timeline` },
          "Activities", h("span", { class: "badge", text: count })),
        this.#cardPanels(c),
      ),
    );
    this.detail.querySelector("#card-name").focus();
  }

  /** Third-party panels registered for the "contact-card" slot, each given the open contact. */
  #cardPanels(c) {
    return (this.hub.cardPanels || []).map((p) => {
      const el = document.createElement(p.tag);
      el.hub = this.hub;
      el.contact = c;
      el.dataset.panel = p.name;
      return h("section", { class: "card-panel", "aria-label": p.label || p.name }, el);
    });
  }

  #dial(e, c, p) {
    const number = p.e164 || p.number;
    e.currentTarget.dispatchEvent(new CustomEvent("contacts-hub:dial", { bubbles: true, composed: true,
      detail: { number, e164: p.e164, kind: p.kind, extension: p.extension || null, label: p.label,
        contactId: c.id, name: c.display_name } }));
  }

  async #timeline(c) {
    this.#view = "timeline";
    const heading = h("h3", { id: "tl-name", tabindex: "-1", text: `Timeline · ${c.display_name}` });
    const body = h("div", {}, stateView("loading", "Loading activities…"));
    this.#showDetail(this.#backButton("‹ Back to contact"), h("section", { "aria-labelledby": "tl-name" }, heading, body));
    heading.focus();
    try {
      const acts = await this.hub.api.get(`/contacts/${c.id}/timeline`, { order: "asc" });
      replace(body, acts.length ? h("ol", { class: "timeline" }, acts.map((a) => this.#activity(a)))
        : stateView("empty", "No activities yet."));
    } catch (err) {
      replace(body, stateView("error", errorText(err), () => this.#timeline(c)));
    }
  }

  #activity(a) {
    const when = new Date(a.occurred_at);
    const label = isNaN(when) ? a.occurred_at : when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
    return h("li", { class: "activity" },
      h("time", { datetime: a.occurred_at, text: label }),
      h("span", { class: "kind", text: [a.kind, a.direction].filter(Boolean).join(" · ") }),
      a.summary ? h("div", { class: "summary-text", text: a.summary }) : null,
      a.agent ? h("div", { class: "sub", text: `by ${a.agent}` }) : null);
  }
}

if (!customElements.get("ch-customers-sidebar")) customElements.define("ch-customers-sidebar", CustomersSidebar);
