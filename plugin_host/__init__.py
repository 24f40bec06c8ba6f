"""Contacts Hub host: the public API that plugins (built-in and third-party) are written against."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

from plugin_host.records import (
    Blueprint,
    ContactRecord,
    CursorExpired,
    Deletion,
    EmailIn,
    ImportFormat,
    PhoneIn,
    PullContext,
    RetryLater,
    SettingField,
    SkippedRecord,
    SourceError,
    SourceType,
    SyncEnd,
    UIPanel,
)

__version__ = "0.1.0"

PROJECT = "contacts_hub"
hookimpl = pluggy.HookimplMarker(PROJECT)
"""The one marker plugins use: ``from plugin_host import hookimpl``."""

if TYPE_CHECKING:
    from flask import Flask

__all__ = [
    "PROJECT", "Blueprint", "ContactRecord", "CursorExpired", "Deletion", "EmailIn", "ImportFormat",
    "PhoneIn", "PullContext", "RetryLater", "SettingField", "SkippedRecord", "SourceError",
    "SourceType", "SyncEnd", "UIPanel", "create_app", "hookimpl",
]


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask application (see ``plugin_host.app``)."""
    from plugin_host.app import create_app as _create_app

    return _create_app(config)
