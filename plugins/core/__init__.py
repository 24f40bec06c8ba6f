"""Built-in defaults for the decision hooks."""

from __future__ import annotations

from typing import Any

from plugin_host import hookimpl


@hookimpl(trylast=True)
def contacts_hub_caller_id_name(contact: dict[str, Any]) -> str | None:
    name = " ".join(p for p in (contact.get("first_name"), contact.get("last_name")) if p)
    company = contact.get("company")
    if name and company:
        return f"{name} ({company})"
    return name or company or None
