// <ch-upload-modal>: the Upload CSV icon and its small modal (posts to POST /api/v1/imports, shows the counts).
import { errorText } from "/assets/customers-tab/api.js";
import { h, replace, stateView, styles } from "/assets/customers-tab/dom.js";

const CSS = `
:host { display: inline-block; }
.icon { display: inline-grid; place-items: center; width: 32px; height: 32px; padding: 0; }
.icon svg { width: 18px; height: 18px; }
.overlay { position: fixed; inset: 0; background: rgba(15, 23, 42, .45); display: grid; place-items: center; z-index: 1000; }
.overlay[hidden] { display: none; }
.dialog { background: var(--_bg); color: var(--_fg); border-radius: var(--_radius); padding: 18px 20px; width: min(92vw, 380px);
  box-shadow: 0 12px 40px rgba(0, 0, 0, .25); }
.dialog h2 { margin: 0 0 6px; font-size: 1.1em; }
.dialog p { margin: 0 0 12px; color: var(--_muted); font-size: .9em; }
.actions { display: flex; justify-content: flex-end; gap: 8px; margin-top: 14px; }
dl.counts { display: grid; grid-template-columns: repeat(4, 1fr); gap: 6px; margin: 12px 0 0; text-align: center; }
dl.counts div { background: var(--_surface); border-radius: var(--_radius); padding: 6px 2px; }
dl.counts dt { font-size: .75em; color: var(--_muted); }
dl.counts dd { margin: 0; font-weight: 700; font-size: 1.2em; }
.result a { color: var(--_accent); display: inline-block; margin-top: 8px; }
.result .message { margin-top: 8px; font-size: .85em; color: var(--_muted); }
`;
const SVG_NS = "http://www.w3.org/2000/svg";
const FOCUSABLE = "button:not([disabled]), input:not([disabled]), a[href], select, [tabindex]:not([tabindex='-1'])";

function uploadIcon() {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "2");
  for (const d of ["M12 16V4", "M7 9l5-5 5 5", "M4 16v3a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-3"]) {
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

export class UploadModal extends HTMLElement {
  hub = null;
  #busy = false;

  connectedCallback() {
    if (this.shadowRoot) return;
    const root = this.attachShadow({ mode: "open" });
    this.button = h("button", { class: "btn icon", type: "button", title: "Upload CSV", "aria-label": "Upload CSV",
      "aria-haspopup": "dialog", onclick: () => this.open() }, uploadIcon());
    this.file = h("input", { id: "file", type: "file", accept: ".csv,.txt,.vcf,text/csv,text/vcard" });
    this.result = h("div", { class: "result", "aria-live": "polite" });
    this.submit = h("button", { class: "btn primary", type: "submit", text: "Upload" });
    this.closeBtn = h("button", { class: "btn", type: "button", text: "Close", onclick: () => this.close() });
    this.dialog = h("form", { class: "dialog", role: "dialog", "aria-modal": "true", "aria-labelledby": "up-title",
      "aria-describedby": "up-desc", onsubmit: (e) => { e.preventDefault(); this.#upload(); } },
      h("h2", { id: "up-title", text: "Upload CSV" }),
      h("p", { id: "up-desc", text: "Import contacts from a CSV (or vCard) file. Existing contacts that match by "
        + "e-mail or phone are updated. For column mapping use the import wizard." }),
      h("label", { for: "file", class: "sr-only", text: "CSV file" }), this.file, this.result,
      h("div", { class: "actions" }, this.closeBtn, this.submit));
    this.overlay = h("div", { class: "overlay", hidden: true, onkeydown: (e) => this.#keys(e),
      onmousedown: (e) => { if (e.target === this.overlay && !this.#busy) this.close(); } }, this.dialog);
    root.append(styles(CSS), this.button, this.overlay);
  }

  open() {
    this.file.value = "";
    replace(this.result);
    this.submit.disabled = false;
    this.overlay.hidden = false;
    this.file.focus();
  }

  close() {
    this.overlay.hidden = true;
    this.button.focus();
  }

  /** Escape closes; Tab and Shift+Tab stay inside the dialog (focus trap). */
  #keys(e) {
    if (e.key === "Escape" && !this.#busy) {
      e.preventDefault();
      this.close();
      return;
    }
    if (e.key !== "Tab") return;
    const items = [...this.dialog.querySelectorAll(FOCUSABLE)].filter((el) => !el.closest("[hidden]"));
    if (!items.length) return;
    const first = items[0];
    const last = items.at(-1);
    const active = this.shadowRoot.activeElement;
    if (e.shiftKey && (active === first || !items.includes(active))) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && (active === last || !items.includes(active))) {
      e.preventDefault();
      first.focus();
    }
  }

  async #upload() {
    const file = this.file.files[0];
    if (!file) {
      replace(this.result, stateView("error", "Choose a file first."));
      this.file.focus();
      return;
    }
    const form = new FormData();
    form.append("file", file, file.name);
    this.#busy = true;
    this.submit.disabled = true;
    replace(this.result, stateView("loading", `Uploading ${file.name}…`));
    try {
      let job = await this.hub.api.post("/imports", form);
      job = await this.#finish(job);
      if (job?.status === "failed") throw new Error(job.message || "The import failed.");
      this.#show(job);
      this.hub.emit("refresh", {});
      this.hub.emit("imported", { counts: this.#counts(job) });
    } catch (err) {
      replace(this.result, stateView("error", `Upload failed: ${errorText(err)}`));
    } finally {
      this.#busy = false;
      this.submit.disabled = false;
    }
  }

  /** A large file may come back as a queued job: poll it until it is done. */
  async #finish(job) {
    const id = job?.job_id ?? job?.id ?? job?.job?.id;
    for (let i = 0; i < 600 && ["queued", "running", "pending"].includes(job?.status ?? job?.job?.status); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      job = await this.hub.api.get(`/imports/${id}`);
    }
    return job;
  }

  async #download(e, href) {
    if (!this.hub.api.token) return;  // a cookie session downloads through the plain link
    e.preventDefault();
    const name = e.currentTarget.getAttribute("download");
    try {
      const url = URL.createObjectURL(await this.hub.api.blob(href));
      const a = h("a", { href: url, download: name });
      this.shadowRoot.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      this.result.append(stateView("error", errorText(err)));
    }
  }

  #counts(job) {
    const src = job?.counts ?? job?.job ?? job ?? {};
    const n = (k) => Number(src[k] ?? 0);
    return { imported: n("imported"), updated: n("updated"), skipped: n("skipped"), errors: n("errors") };
  }

  #show(job) {
    const counts = this.#counts(job);
    const cell = (key, label) => h("div", { "data-count": key }, h("dt", { text: label }), h("dd", { text: counts[key] }));
    const url = job?.errors_url ?? job?.job?.errors_url;
    let link = null;
    if (counts.errors && url) {
      const href = this.hub.api.resolve(url);
      // The link needs the caller's credentials: with a bearer token it is fetched and saved as a blob.
      if (/^https?:/.test(href)) link = h("a", { href, class: "errors-link", download: `import-${job.id}-errors.csv`,
        text: "Download failed rows (CSV)", onclick: (e) => this.#download(e, href) });
    }
    replace(this.result, h("p", { role: "status", class: "done", text: "Import finished." }),
      h("dl", { class: "counts" }, cell("imported", "Imported"), cell("updated", "Updated"), cell("skipped", "Skipped"),
        cell("errors", "Errors")), link,
      job?.message ? h("div", { class: "message", text: job.message }) : null,
      job?.error_messages?.length ? h("ul", { class: "message error-list" },
        job.error_messages.slice(0, 5).map((m) => h("li", { text: m }))) : null);
  }
}

if (!customElements.get("ch-upload-modal")) customElements.define("ch-upload-modal", UploadModal);
