"""A third-party plugin as a pip-installed distribution would ship it (test fixture)."""

from plugin_host import UIPanel, hookimpl

SEEN: list = []


@hookimpl
def contacts_hub_register_panels():
    return [UIPanel(name="fake-notes", slot="contact-card", tag="fake-notes-panel",
                    module_url="/static/fake/notes.js", permission="contacts:read", label="Notes")]


@hookimpl
def contacts_hub_on_contacts_changed(tenant_id, action, contact_ids):
    SEEN.append((tenant_id, action, list(contact_ids)))
