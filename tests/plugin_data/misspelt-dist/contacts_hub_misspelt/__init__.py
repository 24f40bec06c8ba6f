"""A plugin with a misspelt hook name (test fixture): start-up must refuse it."""

from plugin_host import hookimpl


@hookimpl
def contacts_hub_register_panel():
    return []
