"""Built-in Customers-tab panels: the sidebar, the list dropdown and the CSV upload modal, plus the demo host page."""

from __future__ import annotations

from plugin_host import Blueprint, UIPanel, hookimpl

#: Where this plugin's ``static/`` folder is served; panel modules are resolved against the hub's URL.
STATIC = "/plugins/customers_tab/static"


@hookimpl
def contacts_hub_register_panels() -> list[UIPanel]:
    return [
        UIPanel(name="customers.lists", slot="toolbar", tag="ch-list-dropdown",
                module_url=f"{STATIC}/list-dropdown.js", label="List", order=10),
        UIPanel(name="customers.upload", slot="toolbar", tag="ch-upload-modal",
                module_url=f"{STATIC}/upload-modal.js", permission="contacts:import", label="Upload CSV", order=20),
        UIPanel(name="customers.sidebar", slot="main", tag="ch-customers-sidebar",
                module_url=f"{STATIC}/sidebar.js", label="Customers", order=30),
    ]


@hookimpl
def contacts_hub_register_blueprints() -> list[Blueprint]:
    from plugins.customers_tab.views import make_blueprint

    return [Blueprint(name="customers_tab", blueprint=make_blueprint(STATIC))]
