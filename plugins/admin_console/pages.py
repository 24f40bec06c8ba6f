"""The admin console's pages: who may open each one and how it appears in the navigation."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """One page of the console; ``capability`` of ``None`` means any admin or department admin."""

    slug: str
    title: str
    module: str
    capability: str | None = None
    group: str = "Contacts"


PAGES: tuple[Page, ...] = (
    Page("contacts", "Contacts", "contacts.js"),
    Page("import", "Import CSV", "import.js"),
    Page("lists", "Lists", "lists.js"),
    Page("tags", "Tags", "tags.js"),
    Page("accounts", "Accounts", "accounts.js"),
    Page("custom-fields", "Custom fields", "custom-fields.js", "custom_fields:manage"),
    Page("settings", "Settings", "settings.js", "sources:manage"),
    Page("departments", "Departments", "departments.js", None, "Organisation"),
    Page("users", "Users", "users.js", "users:manage", "Organisation"),
    Page("tokens", "API tokens", "tokens.js", None, "Organisation"),
    Page("audit", "Audit log", "audit.js", "audit:read", "Organisation"),
    Page("plugins", "Plugins", "plugins.js", "plugins:manage", "System"),
)
BY_SLUG = {p.slug: p for p in PAGES}
#: Plugins the console will not let an admin disable (it would lock the admin out of this page).
PROTECTED_PLUGINS = frozenset({"core", "admin_console"})
