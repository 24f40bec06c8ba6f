// A third-party contact-card panel: shows how many e-mail addresses the open contact has.
class CardDemoPanel extends HTMLElement {
  connectedCallback() {
    const root = this.shadowRoot || this.attachShadow({ mode: "open" });
    const p = document.createElement("p");
    p.className = "card-demo";
    p.textContent = `Third-party panel: ${this.contact.display_name} has ${this.contact.emails.length} e-mail(s)`;
    root.replaceChildren(p);
  }
}
customElements.define("card-demo-panel", CardDemoPanel);
