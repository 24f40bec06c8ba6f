"""Benchmarks (not tests): each module prints its figures and a ratio against a baseline of the same run."""
