"""Sync source endpoints: source types, configured sources, trigger, erase and run history."""

from __future__ import annotations
