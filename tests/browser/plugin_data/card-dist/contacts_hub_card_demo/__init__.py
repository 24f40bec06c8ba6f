"""A third-party panel plugin (browser-test fixture): a contact-card panel served from its own static folder."""

from pathlib import Path

from plugin_host import Blueprint, UIPanel, hookimpl


@hookimpl
def contacts_hub_register_panels():
    return [UIPanel(name="card-demo", slot="contact-card", tag="card-demo-panel",
                    module_url="/plugins/card_demo/static/card-demo.js", label="Card demo")]


@hookimpl
def contacts_hub_register_blueprints():
    from flask import Blueprint as FlaskBlueprint

    bp = FlaskBlueprint("card_demo", __name__, static_folder=str(Path(__file__).parent / "static"),
                        static_url_path="/plugins/card_demo/static")
    return [Blueprint(name="card_demo", blueprint=bp)]
