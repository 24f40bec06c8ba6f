"""The import pipeline's write side: stream a file's rows into batched upserts, tracked as an ImportJob."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from plugin_host.importing.errors import ImportFileError
from plugin_host.importing.reader import ImportRow, ParsedImport, open_import
from plugin_host.models import T, utcnow
from plugin_host.permissions import Principal
from plugin_host.phones import clear_cache
from plugin_host.records import ContactRecord, ImportFormat
from plugin_host.repo.errors import RepositoryError, ValidationError
from plugin_host.repo.lists import ListRepository
from plugin_host.repo.upsert import MATCH_KEYS, Prepared, Rejected, Upserter, UpsertOptions, prepare_record

JOBS, ERROR_ROWS, TENANTS = T["import_jobs"], T["import_error_rows"], T["tenants"]
LIST_MODES = ("none", "existing", "new", "per_row")
PG_COMMIT_EVERY = 50_000
SQLITE_IMPORT_CACHE_KB = int(os.environ.get("CONTACTS_HUB_IMPORT_CACHE_KB", "49152"))  # page cache of an import
SORT_CACHE_KB = 8192  # SQLite: page cache (and sort memory) while an import re-creates indexes
ROW_WORKER_MIN_ROWS = int(os.environ.get("CONTACTS_HUB_IMPORT_WORKER_MIN_ROWS", "20000"))  # smaller: one process
PG_ANALYZE_FROM = 1_000  # PostgreSQL: ANALYZE after this many new contacts, then each time their count doubles
READER_CACHE_ROWS = 20_000  # the reading process forgets its cached phone results after this many rows
# The reading process: rows allocate dozens of small containers each and make almost no reference
# cycles; with the default collector thresholds (700, 10, 10) collections took ~17 % of it.
IMPORT_GC_THRESHOLD = (100_000, 50, 1000)
ROW_WINDOW = 4  # prepared batches the reading process may be ahead of the writes (bounds memory)
Progress = Callable[[int, int | None], None]
# one file row as the write side gets it: (row number, cells, prepared record | refused record | read error)
Entry = tuple[int, "Sequence[str] | str", "Prepared | Rejected | str"]  # cells may be packed (see _pack)


@dataclass
class ImportOptions:
    """Everything the wizard's three steps decide (also what an import template stores)."""

    format_name: str | None = None
    delimiter: str | None = None
    has_header: bool = True
    legacy_codepage: str = "cp1252"
    mapping: Sequence[str | None] | Mapping[str, str | None] | None = None
    on_duplicate: str = "update"
    match_keys: tuple[str, ...] = ("email",)
    list_mode: str = "none"
    list_id: int | None = None
    list_name: str | None = None
    visibility: str | None = None
    department_id: int | None = None
    owner_id: int | None = None
    blank_clears: bool = False
    dry_run: bool = False
    batch_size: int = 2000

    def check(self) -> None:
        """Raise ValidationError for options that cannot work."""
        errors: dict[str, list[str]] = {}
        if self.on_duplicate not in ("update", "skip"):
            errors["on_duplicate"] = [f"{self.on_duplicate!r} is not one of update, skip"]
        bad = [k for k in self.match_keys if k not in MATCH_KEYS]
        if bad or not self.match_keys:
            errors["match_keys"] = [f"use one or more of {', '.join(MATCH_KEYS)}"]
        if self.list_mode not in LIST_MODES:
            errors["list_mode"] = [f"{self.list_mode!r} is not one of {', '.join(LIST_MODES)}"]
        elif self.list_mode == "existing" and self.list_id is None:
            errors["list_id"] = ["is required when adding to an existing list"]
        elif self.list_mode == "new" and not (self.list_name or "").strip():
            errors["list_name"] = ["is required when adding to a new list"]
        if self.batch_size < 1:
            errors["batch_size"] = ["must be at least 1"]
        if errors:
            raise ValidationError(errors)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = dataclasses.asdict(self)
        data["match_keys"] = list(self.match_keys)
        if self.mapping is not None and not isinstance(self.mapping, Mapping):
            data["mapping"] = list(self.mapping)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImportOptions:
        """Build from a dict, ignoring unknown keys."""
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in data.items() if k in names}
        if "match_keys" in kw:
            kw["match_keys"] = tuple(kw["match_keys"])
        return cls(**kw)


@dataclass
class ImportResult:
    """The outcome of one run: counts always add up to ``rows``."""

    job_id: int | None
    status: str
    rows: int = 0
    imported: int = 0
    updated: int = 0
    skipped: int = 0
    errors: int = 0
    dry_run: bool = False
    format: str = ""
    list_id: int | None = None
    message: str = ""
    error_rows: list[tuple[int, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dataclasses.asdict(self)


def formats_of(app_or_formats: Any) -> list[ImportFormat]:
    """The import formats of a Flask app (its registry) or a given sequence."""
    if hasattr(app_or_formats, "extensions"):
        from plugin_host.app import hub

        return list(hub(app_or_formats).registry.import_formats.values())
    if isinstance(app_or_formats, Mapping):
        return list(app_or_formats.values())
    return list(app_or_formats)


def _current_formats() -> list[ImportFormat]:
    from flask import current_app

    return formats_of(current_app)


def _source(data: bytes | str | os.PathLike[str] | BinaryIO) -> bytes | BinaryIO:
    if isinstance(data, (str, os.PathLike)):
        return Path(data).open("rb")
    return data


def open_with_options(formats: Sequence[ImportFormat], data: bytes | BinaryIO, options: ImportOptions) -> ParsedImport:
    """open_import with the options; a header->target dict mapping overrides the suggestion per column."""
    kw: dict[str, Any] = {"format_name": options.format_name, "delimiter": options.delimiter,
                          "has_header": options.has_header, "legacy_codepage": options.legacy_codepage,
                          "blank_clears": options.blank_clears}
    mapping = options.mapping
    if mapping is None or not isinstance(mapping, Mapping):
        return open_import(data, formats, mapping=None if mapping is None else list(mapping), **kw)
    parsed = open_import(data, formats, **kw)
    if parsed.is_text:
        return parsed
    unknown = [h for h in mapping if h not in parsed.header]
    if unknown:
        raise ImportFileError(f"The mapping names columns the file does not have: {', '.join(map(repr, unknown))}.")
    chosen = [mapping.get(h, t) if h in mapping else t for h, t in zip(parsed.header, parsed.mapping, strict=True)]
    if not isinstance(data, bytes):
        data.seek(0)
    return open_import(data, formats, mapping=chosen, **kw)


def preview(app_or_formats: Any, data: bytes | str | os.PathLike[str] | BinaryIO, options: ImportOptions | None = None,
            *, rows: int = 5) -> dict[str, Any]:
    """Detected settings, columns with samples and targets, the first rows; writes nothing."""
    options = options or ImportOptions()
    src = _source(data)
    try:
        return open_with_options(formats_of(app_or_formats), src, options).preview(rows).as_dict()
    finally:
        if src is not data and hasattr(src, "close"):
            src.close()  # type: ignore[union-attr]


def estimate_rows(data: bytes | BinaryIO, parsed: ParsedImport) -> int:
    """Cheap row estimate: newlines (minus the header) for CSV, BEGIN:VCARD lines for vCards."""
    needle = b"BEGIN:VCARD" if parsed.is_text else b"\n"
    count, tail, last = 0, b"", b""
    if isinstance(data, bytes):
        chunks: Iterable[bytes] = [data]
    else:
        data.seek(0)
        chunks = iter(lambda: data.read(1 << 20), b"")
    for chunk in chunks:
        last = chunk[-1:]
        block = tail + (chunk.upper() if parsed.is_text else chunk)
        count += block.count(needle)
        tail = block[-(len(needle) - 1):] if len(needle) > 1 else b""
        if tail and needle in tail:
            tail = b""
    if not isinstance(data, bytes):
        data.seek(0)
    if not parsed.is_text:
        count = count + (last not in (b"\n", b"")) - (1 if parsed.has_header else 0)
    return max(count, 0)


def tenant_region(session: Session, tenant_id: int) -> str:
    """The tenant's default phone region."""
    return session.execute(select(TENANTS.c.default_region).where(TENANTS.c.id == tenant_id)).scalar() or "US"


def create_job(session: Session, principal: Principal, options: ImportOptions, *, filename: str = "",
               file_path: str | None = None) -> int:
    """A queued job row (not committed)."""
    return session.execute(insert(JOBS).values(
        tenant_id=principal.tenant_id, user_id=principal.user_id, status="queued", filename=filename,
        file_path=file_path, format=options.format_name, options=options.as_dict(), dry_run=options.dry_run,
        rows_done=0, imported=0, updated=0, skipped=0, errors=0, message="", created_at=utcnow(),
    ).returning(JOBS.c.id)).scalar_one()


def get_job(session: Session, tenant_id: int, job_id: int) -> dict[str, Any] | None:
    """A job of this tenant as a dict (``None`` if there is none)."""
    row = session.execute(select(JOBS).where(JOBS.c.id == job_id, JOBS.c.tenant_id == tenant_id)).mappings().first()
    return dict(row) if row else None


class _Run:
    """One pipeline run's state: counts, pending error rows, the job row."""

    def __init__(self, session: Session, job_id: int, dry_run: bool) -> None:
        self.s = session
        self.job_id = job_id
        self.counts = {"rows": 0, "imported": 0, "updated": 0, "skipped": 0, "errors": 0}
        self.first_errors: list[tuple[int, str]] = []
        self.dry_run = dry_run
        self.pg = session.get_bind().dialect.name == "postgresql"

    def error(self, row_number: int, cells: Sequence[str] | str, message: str) -> None:
        if not message.startswith("Row "):
            message = f"Row {row_number}: {message}"
        self.counts["errors"] += 1
        if len(self.first_errors) < 1000:
            self.first_errors.append((row_number, message))
        self.s.execute(insert(ERROR_ROWS).values(job_id=self.job_id, row_number=row_number,
                                                 cells=_unpack(cells), error=message))

    def progress(self, total: int | None) -> None:
        """Publish progress in a separate short transaction (PostgreSQL only: SQLite has one writer)."""
        if not self.pg:
            return
        with self.s.get_bind().begin() as conn:  # type: ignore[union-attr]
            conn.execute(update(JOBS).where(JOBS.c.id == self.job_id).values(
                rows_done=self.counts["rows"], total_rows=total, imported=self.counts["imported"],
                updated=self.counts["updated"], skipped=self.counts["skipped"], errors=self.counts["errors"]))


def _sqlite_import_cache(session: Session) -> Callable[[], None] | None:
    """A larger page cache on SQLite while the import runs (index maintenance dominates); returns the undo."""
    if session.get_bind().dialect.name != "sqlite" or SQLITE_IMPORT_CACHE_KB <= 0:
        return None
    conn = session.connection()
    old = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_IMPORT_CACHE_KB}")

    def restore() -> None:
        try:
            session.connection().exec_driver_sql(f"PRAGMA cache_size={int(old)}")
        except Exception:  # the connection may already be gone after a failure
            pass

    return restore


#: Tables whose secondary indexes a large SQLite import may set aside (see ``_SqliteBulkIndexes``).
BULK_TABLES = ("contacts", "contact_phones", "contact_emails")
#: Indexes an import reads itself (matching, the stored rows of matched contacts): never set aside.
_IMPORT_READS = {"ix_contact_phones_contact_id", "ix_contact_emails_contact_id"}
_MATCH_INDEXES = {"email": "ix_emails_key", "phone": "ix_phones_e164", "mobile": "ix_phones_e164",
                  "external_crm_id": "ix_contacts_crm_id"}
BULK_INDEX_MIN_ROWS = int(os.environ.get("CONTACTS_HUB_IMPORT_BULK_MIN_ROWS", "50000"))


class _SqliteBulkIndexes:
    """SQLite: an import that will at least double the contacts table builds its indexes once.

    Keeping a dozen secondary indexes (three of them wide, migration 0004) in step row by row is
    most of a large first import's time, and gets slower as they outgrow the page cache; building
    an index from the finished table is one sort. So when the first batch shows that the file's
    new contacts will at least match the rows already stored, the secondary indexes of
    ``BULK_TABLES`` that the import does not read itself are dropped, and re-created from their
    stored SQL (with their ``sqlite_stat1`` rows) before the import commits. All of it happens
    inside the import's one transaction: other connections keep seeing the indexes (WAL
    snapshot), and a failure or a crash rolls the drop back with everything else.
    """

    def __init__(self, session: Session, match_keys: Sequence[str]) -> None:
        self.s = session
        self.keep = _IMPORT_READS | {_MATCH_INDEXES[k] for k in match_keys if k in _MATCH_INDEXES}
        self.dropped: list[tuple[str, str]] = []
        self.stats: list[tuple[Any, ...]] = []
        self.decided = False

    def consider(self, created: int, written: int, total: int | None) -> None:
        """After the first written batch: drop the indexes if the file's new contacts (projected
        from this batch) at least match the contacts stored before the import."""
        if self.decided or not written:
            return
        self.decided = True
        if not total or total < BULK_INDEX_MIN_ROWS:
            return
        conn = self.s.connection()
        stored = conn.exec_driver_sql("SELECT count(*) FROM contacts").scalar() or 0
        if created * total < written * max(stored - created, BULK_INDEX_MIN_ROWS):
            return
        marks = ", ".join("?" * len(BULK_TABLES))
        rows = conn.exec_driver_sql(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({marks}) ORDER BY name", BULK_TABLES).all()
        # a partial index that never holds a row (``WHERE 0``, migration 0004) costs nothing to keep
        # (nor is a UNIQUE index set aside: it enforces a constraint while the rows go in)
        self.dropped = [(n, q) for n, q in rows if n not in self.keep and not re.search(r"\bWHERE\s+0\s*$", q)
                        and not re.match(r"\s*CREATE\s+UNIQUE\b", q, re.I)]
        if not self.dropped:
            return
        names = [n for n, _ in self.dropped]
        has_stats = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'").first()
        if has_stats:
            self.stats = [tuple(r) for r in conn.exec_driver_sql(
                f"SELECT tbl, idx, stat FROM sqlite_stat1 WHERE idx IN ({', '.join('?' * len(names))})",
                tuple(names)).all()]
        for name in names:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')

    def restore(self) -> None:
        """Re-create the dropped indexes (inside the still open transaction)."""
        conn = self.s.connection()
        # SQLite's sorter holds up to cache_size of rows in memory (per sorting thread, hence one
        # thread), so the cache is made small for the sort (the table is read once, in order):
        # memory stays flat and the sort spills to temporary files instead.
        cache = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SORT_CACHE_KB}")
        try:
            for _, sql in self.dropped:
                conn.exec_driver_sql(sql)
        finally:
            conn.exec_driver_sql(f"PRAGMA cache_size = {int(cache)}")
        if self.stats:
            conn.exec_driver_sql("INSERT INTO sqlite_stat1(tbl, idx, stat) VALUES (?, ?, ?)", self.stats)
        self.dropped, self.stats = [], []


def analyze_growing_tables(session: Session) -> None:
    """Refresh PostgreSQL's statistics of the tables an import grows (it sees this transaction's rows).

    Without it, an import into a nearly empty tenant keeps planning its per-batch e-mail/phone
    lookups for empty tables (nested loops over sequential scans: seconds per batch).
    """
    try:
        with session.begin_nested():
            session.connection().exec_driver_sql("ANALYZE contacts, contact_emails, contact_phones")
    except Exception:  # e.g. not the tables' owner: the import goes on with the old statistics
        pass


def prepared_batches(rows: Iterable[ImportRow], prepare: Callable[[ContactRecord], Any],
                     *, keep_lists: bool, batch_size: int, pack_cells: bool = False) -> Iterator[list[Entry]]:
    """File rows -> batches of entries, each batch holding ``batch_size`` records (plus the rows
    that could not be read, in file order). All the per-row work that needs no database.

    ``pack_cells``: a row's cells as one string (see ``_pack``), cheaper to send to another process.
    """
    batch: list[Entry] = []
    good = 0
    pack = _pack if pack_cells else _same
    for row in rows:
        if row.record is None:
            batch.append((row.row_number, pack(row.cells), row.error or f"Row {row.row_number}: unreadable"))
            continue
        rec = row.record if keep_lists or not row.record.lists else dataclasses.replace(row.record, lists=None)
        batch.append((row.row_number, pack(row.cells), prepare(rec)))
        good += 1
        if good >= batch_size:
            yield batch
            batch, good = [], 0
    if batch:
        yield batch


_CELL_SEP = "\x1f"  # ASCII unit separator


def _same(cells: Sequence[str]) -> Sequence[str]:
    return cells


def _pack(cells: Sequence[str]) -> Sequence[str] | str:
    """Cells joined by the unit separator when that can be undone exactly (no cell contains it)."""
    joined = _CELL_SEP.join(cells)
    return joined if cells and joined.count(_CELL_SEP) == len(cells) - 1 else cells


def _unpack(cells: Sequence[str] | str) -> list[str]:
    return cells.split(_CELL_SEP) if isinstance(cells, str) else list(cells)


def _prepare_one(region: str, blank_clears: bool, match_keys: tuple[str, ...],
                 rec: ContactRecord) -> tuple[Any, ...] | Rejected:
    """``Upserter.prepare`` of an import, without the Upserter (what the reading process runs);
    a ``Prepared`` travels as a plain tuple (``Upserter.apply_prepared`` takes either)."""
    try:
        return tuple(prepare_record(rec, region, blank_clears=blank_clears, match_keys=match_keys))
    except RepositoryError as exc:
        return Rejected(str(exc), rec.external_id)


def _peak_rss_kb() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reader_main(spec: dict[str, Any], out: Any) -> None:
    """The reading process: parse, map, validate and normalise the file; send bounded batches."""
    import gc

    gc.freeze()  # the modules' objects never become garbage: keep them out of every collection
    gc.set_threshold(*IMPORT_GC_THRESHOLD)
    try:
        source = spec["source"]
        if isinstance(source, str):
            with Path(source).open("rb") as fp:
                _read_into(spec, fp, out)
        else:
            _read_into(spec, source, out)
        out.put(("end", _peak_rss_kb()))
    except ImportFileError as exc:
        out.put(("file_error", str(exc)))
    except BaseException as exc:  # reported to the writing process, which then carries on alone
        out.put(("crash", f"{type(exc).__name__}: {exc}"))


def _read_into(spec: dict[str, Any], data: bytes | BinaryIO, out: Any) -> None:
    from functools import partial

    parsed = open_import(data, [spec["format"]], format_name=spec["format"].name, delimiter=spec["delimiter"],
                         has_header=spec["has_header"], legacy_codepage=spec["legacy_codepage"],
                         mapping=spec["mapping"], blank_clears=spec["blank_clears"])
    prepare = partial(_prepare_one, spec["region"], spec["blank_clears"], spec["match_keys"])
    since_clear = 0
    for batch in prepared_batches(parsed.iter_rows(), prepare, keep_lists=spec["keep_lists"],
                                  batch_size=spec["batch_size"], pack_cells=True):
        out.put(("rows", batch))
        since_clear += len(batch)
        if since_clear >= READER_CACHE_ROWS:  # the phone cache only pays for near repeats: keep memory flat
            clear_cache()
            since_clear = 0


class _ReaderLost(Exception):
    """The reading process stopped without finishing."""


class _Reader:
    """A second (spawned) process doing all of an import's per-row work that needs no database:
    CSV parsing, mapping, validation, phone normalisation, derived columns, match keys.

    The writing process (this one) only matches and writes. At most ``ROW_WINDOW`` batches are
    in flight, so memory stays flat whatever the file's size.
    """

    def __init__(self, spec: dict[str, Any]) -> None:
        from multiprocessing import get_context

        ctx = get_context("spawn")
        self.queue: Any = ctx.Queue(maxsize=ROW_WINDOW)
        self.proc: Any = ctx.Process(target=_reader_main, args=(spec, self.queue), daemon=True,
                                     name="contacts-hub-import-reader")
        self.proc.start()
        self.peak_rss_kb: int | None = None

    def batches(self) -> Iterator[list[Entry]]:
        import queue

        while True:
            try:
                kind, payload = self.queue.get(timeout=1.0)
            except queue.Empty:
                if not self.proc.is_alive():
                    raise _ReaderLost(f"exit code {self.proc.exitcode}") from None
                continue
            if kind == "rows":
                yield payload
            elif kind == "end":
                self.peak_rss_kb = payload
                return
            elif kind == "file_error":
                raise ImportFileError(payload)
            else:
                raise _ReaderLost(payload)

    def close(self) -> None:
        if self.proc.is_alive():
            self.proc.join(timeout=2)
        if self.proc.is_alive():
            self.proc.terminate()
        self.proc.join()
        self.queue.close()
        self.queue.cancel_join_thread()


def _reader_spec(data_or_path: Any, parsed: ParsedImport, options: ImportOptions, region: str,
                 keep_lists: bool) -> dict[str, Any] | None:
    """What the reading process needs to re-open the file exactly as here (``None``: it cannot)."""
    import pickle

    if isinstance(data_or_path, (str, os.PathLike)):
        source: str | bytes = os.fspath(data_or_path)
    elif isinstance(data_or_path, bytes):
        source = data_or_path
    else:
        return None
    try:
        pickle.dumps(parsed.format_def)  # a third-party format with closures stays in this process
    except Exception:
        return None
    return {"source": source, "format": parsed.format_def, "delimiter": parsed.delimiter,
            "has_header": parsed.has_header, "legacy_codepage": options.legacy_codepage,
            "mapping": list(parsed.mapping), "blank_clears": options.blank_clears, "region": region,
            "match_keys": tuple(options.match_keys), "keep_lists": keep_lists, "batch_size": options.batch_size}


_GC_LOCK = threading.Lock()
_GC_STATE: dict[str, int] = {"runs": 0}


def _gc_relaxed(step: int) -> None:
    """While imports run in this process, the objects that existed before are frozen out of the
    collector's full passes (which otherwise rescan the whole application for every few batches).
    Imports may run in threads: the first one in freezes, the last one out unfreezes. (Higher
    thresholds here, as in the reading process, let cyclic garbage pile up: +120 MB at 1M rows.)"""
    import gc

    with _GC_LOCK:
        _GC_STATE["runs"] += step
        if step > 0 and _GC_STATE["runs"] == 1:
            gc.freeze()
        elif step < 0 and _GC_STATE["runs"] == 0:
            gc.unfreeze()


def _set_job(session: Session, job_id: int, **values: Any) -> None:
    session.execute(update(JOBS).where(JOBS.c.id == job_id).values(**values))
    session.commit()


def _resolve_list(session: Session, principal: Principal, options: ImportOptions) -> int | None:
    lists = ListRepository(session, principal)
    if options.list_mode == "existing":
        assert options.list_id is not None
        row = lists._writable(options.list_id)
        if row["kind"] != "static":
            raise ValidationError({"list_id": ["contacts can be added only to a static list"]})
        return options.list_id
    if options.list_mode == "new" and not options.dry_run:
        scope = {k: v for k, v in (("visibility", options.visibility), ("department_id", options.department_id),
                                   ("owner_id", options.owner_id)) if v is not None}
        return lists.create({"name": (options.list_name or "").strip(), "kind": "static", **scope})["id"]
    return None


def run_import(
    session: Session,
    principal: Principal,
    data_or_path: bytes | str | os.PathLike[str] | BinaryIO,
    options: ImportOptions,
    *,
    job_id: int | None = None,
    progress: Progress | None = None,
    formats: Sequence[ImportFormat] | None = None,
    filename: str = "",
) -> ImportResult:
    """Stream the file into batched upserts; record failed rows; keep the job row current.

    A file-level problem (``ImportFileError``) or a refused target (``RepositoryError``)
    writes no contacts, marks the job failed and is raised. A dry run writes no contacts
    (nor a new list) but records the job, its counts and its failed rows.
    """
    src = _source(data_or_path)
    if not filename and isinstance(data_or_path, (str, os.PathLike)):
        filename = Path(data_or_path).name
    try:
        return _run(session, principal, src, options, job_id, progress, formats, filename, data_or_path)
    finally:
        if src is not data_or_path:
            src.close()  # type: ignore[union-attr]


def _run(session: Session, principal: Principal, src: bytes | BinaryIO, options: ImportOptions,
         job_id: int | None, progress: Progress | None, formats: Sequence[ImportFormat] | None,
         filename: str, data_or_path: Any = None) -> ImportResult:
    try:
        options.check()
        parsed = open_with_options(formats if formats is not None else _current_formats(), src, options)
        if problem := parsed.mapping_problem():
            raise ImportFileError(problem)
        upserter = Upserter(session, principal, region=tenant_region(session, principal.tenant_id),
                            options=UpsertOptions(match_keys=tuple(options.match_keys),
                                                  on_duplicate=options.on_duplicate,
                                                  blank_clears=options.blank_clears, visibility=options.visibility,
                                                  department_id=options.department_id, owner_id=options.owner_id,
                                                  dry_run=options.dry_run))
        list_id = _resolve_list(session, principal, options)
        upserter.o.list_id = list_id
    except (ImportFileError, RepositoryError) as exc:
        session.rollback()
        if job_id is not None:
            _set_job(session, job_id, status="failed", message=str(exc), finished_at=utcnow())
        raise
    total = estimate_rows(src, parsed)
    stored = {**options.as_dict(), "header": list(parsed.header), "format": parsed.format}
    if job_id is None:
        job_id = create_job(session, principal, options, filename=filename)
    session.execute(update(JOBS).where(JOBS.c.id == job_id).values(
        status="running", format=parsed.format, options=stored, total_rows=total, dry_run=options.dry_run))
    session.commit()  # the job row is visible to pollers; contacts are not written yet
    run = _Run(session, job_id, options.dry_run)
    restore_cache = _sqlite_import_cache(session) if not run.pg else None
    bulk = _SqliteBulkIndexes(session, upserter.o.match_keys) if not run.pg and not options.dry_run else None
    keep_lists = options.list_mode == "per_row"
    since_commit = 0
    next_analyze = [PG_ANALYZE_FROM]
    spec = (_reader_spec(data_or_path, parsed, options, upserter.region, keep_lists)
            if (total or 0) >= ROW_WORKER_MIN_ROWS else None)
    reader: _Reader | None = None
    if spec is not None:
        try:
            reader = _Reader(spec)
        except Exception:  # no second process here (e.g. inside a daemonic process): everything runs here
            reader = None

    def flush(rows: list[Entry]) -> None:
        nonlocal since_commit
        if rows:
            outcomes = upserter.apply_prepared([e for _, _, e in rows])  # type: ignore[misc]
            if bulk is not None and not bulk.decided:
                bulk.consider(sum(o.status == "created" for o in outcomes), len(outcomes), total)
            for (number, cells, _), out in zip(rows, outcomes, strict=True):
                if out.status == "error":
                    run.error(number, cells, f"Row {number}: {out.message}")
                else:
                    run.counts["imported" if out.status == "created" else out.status] += 1
            since_commit += len(rows)
        if run.pg and since_commit >= PG_COMMIT_EVERY:
            session.commit()
            since_commit = 0
        if run.pg and not options.dry_run and run.counts["imported"] >= next_analyze[0]:  # only growth ages stats
            analyze_growing_tables(session)
            next_analyze[0] *= 2
        run.progress(total)
        if progress:
            progress(run.counts["rows"], total)

    def batches() -> Iterator[list[Entry]]:
        done = 0  # the last row number received from the reading process
        if reader is not None:
            try:
                for batch in reader.batches():
                    done = batch[-1][0]
                    yield batch
                return
            except _ReaderLost:  # carry on here from the next row
                pass
        local = prepared_batches(parsed.iter_rows(), upserter.prepare, keep_lists=keep_lists,
                                 batch_size=options.batch_size)
        for batch in local:
            if done:
                batch = [e for e in batch if e[0] > done]
            if batch:
                yield batch

    _gc_relaxed(+1)
    try:
        try:
            for batch in batches():
                good: list[Entry] = []
                for entry in batch:
                    run.counts["rows"] += 1
                    if type(entry[2]) is str:
                        run.error(entry[0], entry[1], entry[2])  # type: ignore[arg-type]
                    else:
                        good.append(entry)
                flush(good)
            flush([])
            if bulk is not None:
                bulk.restore()
        finally:
            _gc_relaxed(-1)
            if reader is not None:
                reader.close()
            if restore_cache is not None:
                restore_cache()
    except ImportFileError as exc:
        session.rollback()
        _set_job(session, job_id, status="failed", message=str(exc), finished_at=utcnow(), rows_done=0)
        raise
    except Exception as exc:
        session.rollback()
        _set_job(session, job_id, status="failed", message=f"{type(exc).__name__}: {exc}", finished_at=utcnow())
        raise
    c = run.counts
    message = (f"{'Dry run: ' if options.dry_run else ''}{c['rows']} rows: {c['imported']} imported, "
               f"{c['updated']} updated, {c['skipped']} skipped, {c['errors']} errors")
    session.execute(update(JOBS).where(JOBS.c.id == job_id).values(
        status="done", rows_done=c["rows"], imported=c["imported"], updated=c["updated"], skipped=c["skipped"],
        errors=c["errors"], message=message, finished_at=utcnow()))
    session.commit()
    return ImportResult(job_id, "done", c["rows"], c["imported"], c["updated"], c["skipped"], c["errors"],
                        options.dry_run, parsed.format, list_id, message, run.first_errors)


def error_rows(session: Session, job_id: int) -> list[dict[str, Any]]:
    """The failed rows of a job in file order."""
    rows = session.execute(select(ERROR_ROWS.c.row_number, ERROR_ROWS.c.cells, ERROR_ROWS.c.error).where(
        ERROR_ROWS.c.job_id == job_id).order_by(ERROR_ROWS.c.row_number, ERROR_ROWS.c.id)).mappings()
    return [dict(r) for r in rows]


def errors_csv(session: Session, job_id: int) -> str:
    """The failed rows as CSV: the file's original header plus an ``errors`` column."""
    import csv

    job = session.execute(select(JOBS.c.options).where(JOBS.c.id == job_id)).scalar()
    header = list((job or {}).get("header") or [])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*header, "errors"])
    width = len(header)
    for r in error_rows(session, job_id):
        cells = list(r["cells"])
        if not width:
            writer.writerow([*cells, r["error"]])
            continue
        # cells beyond the header (a ragged row) follow the errors column, so nothing is lost
        writer.writerow([*(cells + [""] * width)[:width], r["error"], *cells[width:]])
    return out.getvalue()


def _token_hash(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


def issue_errors_token(session: Session, job_id: int, ttl_minutes: int = 60) -> str:
    """A new download token for the job's failed rows; only its sha256 and expiry are stored."""
    import secrets
    from datetime import timedelta

    token = secrets.token_urlsafe(32)
    session.execute(update(JOBS).where(JOBS.c.id == job_id).values(
        error_token_hash=_token_hash(token), error_token_expires_at=utcnow() + timedelta(minutes=ttl_minutes)))
    session.commit()
    return token


def job_for_errors_token(session: Session, tenant_id: int, token: str) -> int | None:
    """The job id a live token of this tenant unlocks (``None`` if unknown or expired)."""
    if not token:
        return None
    row = session.execute(select(JOBS.c.id, JOBS.c.error_token_expires_at).where(
        JOBS.c.tenant_id == tenant_id, JOBS.c.error_token_hash == _token_hash(token))).first()
    if row is None or row.error_token_expires_at is None:
        return None
    expires = row.error_token_expires_at.replace(tzinfo=None)
    now = utcnow().replace(tzinfo=None)
    return row.id if expires > now else None
