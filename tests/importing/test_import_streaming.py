"""Streaming: iter_rows is lazy and memory stays flat over a large generated file."""

from __future__ import annotations

import inspect
import tempfile

from plugin_host.importing import open_import
from plugin_host.importing.export import PBX_HEADER


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fp:
        return int(fp.read().split()[1]) * 4096


def _write_big(fp, rows: int) -> None:
    fp.write((",".join(PBX_HEADER) + "\r\n").encode())
    chunk = []
    for i in range(rows):
        chunk.append(
            f"First{i},Last{i},Co {i % 97},customer,+1408555{i:07d},work,u{i}@example.com,business,,note {i}\r\n"
        )
        if len(chunk) == 10_000:
            fp.write("".join(chunk).encode())
            chunk.clear()
    fp.write("".join(chunk).encode())
    fp.flush()


def test_iter_rows_is_lazy_and_memory_stays_flat(formats):
    rows = 200_000
    with tempfile.TemporaryFile() as fp:
        _write_big(fp, rows)
        parsed = open_import(fp, formats)
        assert parsed.format == "pbx_csv"
        iterator = parsed.iter_rows()
        assert inspect.isgenerator(iterator)
        first = next(iterator)
        assert first.record.first_name == "First0"
        count, errors, at_10k = 1, 0, 0
        for row in iterator:
            count += 1
            errors += row.error is not None
            if count == 10_000:
                at_10k = _rss_bytes()
        growth = _rss_bytes() - at_10k
    assert (count, errors) == (rows, 0)
    # Holding 200k records would take > 150 MB; streaming keeps the growth to buffers and caches.
    assert growth < 25 * 1024 * 1024, f"RSS grew by {growth / 1e6:.1f} MB"
