"""Sync of configured contact sources (DESIGN.md §6): engine, runner and scheduler."""
