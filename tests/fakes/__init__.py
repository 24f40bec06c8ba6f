"""Reusable fake servers (real HTTP on 127.0.0.1) for source plugin and sync engine tests."""
