"""Secrets at rest: source secrets encrypted with the operator's Fernet key(s)."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from plugin_host.config import ConfigError


class SecretBox:
    """Encrypts a dict of secrets; the first key encrypts, all keys decrypt (rotation)."""

    def __init__(self, keys: str) -> None:
        try:
            self._f = MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()])
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                "CONTACTS_HUB_ENCRYPTION_KEY must be one or more comma-separated Fernet keys "
                "(generate one with: contacts-hub gen-key)"
            ) from exc

    def seal(self, values: dict[str, Any]) -> str:
        return self._f.encrypt(json.dumps(values).encode()).decode()

    def open(self, token: str | None) -> dict[str, Any]:
        if not token:
            return {}
        try:
            return json.loads(self._f.decrypt(token.encode()))
        except InvalidToken:
            raise ConfigError("stored source secrets cannot be decrypted with the configured key") from None
