"""Source settings: validation against a SourceType's SettingField schema; secrets are write-only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugin_host.records import SourceType
from plugin_host.repo.errors import ValidationError

MASK = "********"
TRUE_WORDS = {"1", "true", "yes", "on", "y"}
FALSE_WORDS = {"0", "false", "no", "off", "n", ""}


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return bool(value)
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError("must be yes or no")


def _coerce(kind: str, value: Any, choices: tuple[str, ...]) -> Any:
    if kind == "int":
        if isinstance(value, bool):
            raise ValueError("must be a whole number")
        try:
            return int(str(value).strip())
        except ValueError:
            raise ValueError("must be a whole number") from None
    if kind == "bool":
        return _as_bool(value)
    if kind == "json":
        return value
    text = str(value).strip()
    if kind == "select" and choices and text not in choices:
        raise ValueError(f"must be one of {', '.join(choices)}")
    return text


def validate_settings(stype: SourceType, values: Mapping[str, Any],
                      old_secrets: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split form values into (plain settings, secrets); a blank or masked secret keeps the stored one."""
    old_secrets = old_secrets or {}
    settings: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for f in stype.fields:
        raw = values.get(f.name)
        if f.secret and (raw is None or raw == "" or raw == MASK):
            raw = old_secrets.get(f.name)
        if raw is None or (isinstance(raw, str) and raw.strip() == "" and f.type != "bool"):
            if f.required:
                problems[f.name] = [f"{f.label} is required"]
            elif f.default is not None:
                settings[f.name] = f.default
            continue
        try:
            value = _coerce(f.type, raw, f.choices)
        except ValueError as exc:
            problems[f.name] = [f"{f.label} {exc}"]
            continue
        (secrets if f.secret else settings)[f.name] = value
    if problems:
        raise ValidationError(problems)
    return settings, secrets


def public_settings(stype: SourceType | None, settings: Mapping[str, Any],
                    secrets: Mapping[str, Any]) -> dict[str, Any]:
    """Settings as shown to an admin: secret fields are masked (``********`` when set, ``""`` when not)."""
    out = dict(settings)
    for f in stype.fields if stype else ():
        if f.secret:
            out[f.name] = MASK if secrets.get(f.name) else ""
    return out


def secrets_set(stype: SourceType | None, secrets: Mapping[str, Any]) -> dict[str, bool]:
    """Which secret fields hold a value."""
    return {f.name: bool(secrets.get(f.name)) for f in (stype.fields if stype else ()) if f.secret}
