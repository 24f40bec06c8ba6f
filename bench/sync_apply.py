"""Issue 5: apply a recorded 100,000-contact full sync and a 10,000-change delta (no network).

The "recording" is generated once, deterministically: JSON pages of 1,000 Graph-like contacts
(``givenName``, ``surname``, ``companyName``, ``emailAddresses``, ``businessPhones``,
``mobilePhone``; deletions as ``{"id", "@removed"}``), one page per line. An in-process
``SourceType`` whose ``pull()`` reads the pages with ``json.loads`` and maps them to
``ContactRecord``/``Deletion`` is run by the real engine (``plugin_host.sync.runner.run_source``):
a full sync into an empty source, then a delta of 6,000 edits, 2,000 adds and 2,000 deletions.

Each phase runs in a fresh interpreter and reports its own peak RSS (VmHWM). Baseline, measured
in the same run: the same pages parsed and mapped, phones normalised, and the rows inserted
with a plain DBAPI ``executemany`` into a table without secondary indexes.

    .venv/bin/python -m bench.sync_apply [--contacts N] [--changes N] [--db sqlite|pg|both]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from bench._mem import (
    TMP,
    app_config,
    baseline_table,
    db_url,
    emit,
    migrate_and_seed,
    reset_pg,
    reset_sqlite,
    run_phase,
)

MODULE = "bench.sync_apply"
PG_DB = "ch_bench_sync"
PAGE = 1000
FIRST = ["James", "Mary", "Lukas", "Lena", "Jürgen", "Sören", "Greta", "Oliver", "Amelia", "Élodie", "Loïc", "Giulia",
         "Marco", "Sofía", "José", "Daan", "Zoë", "Niamh", "Łukasz", "Søren", "Åsa", "Emma", "Liam", "Yuki", "Wei"]
LAST = ["Smith", "Johnson", "Müller", "Schmidt", "Schäfer", "Taylor", "Dubois", "Lefèvre", "Rossi", "González",
        "Pérez", "de Jong", "Nowak", "Wiśniewski", "Ødegård", "O'Brien", "MacDonald", "Zimmermann", "Brown"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Hooli", "Vandelay", "Tyrell", "Wonka", ""]


def _phone(r: random.Random) -> str:
    u = r.random()
    if u < .4:
        return f"+1 {r.randint(201, 989)} {r.randint(200, 999)} {r.randint(0, 9999):04d}"
    if u < .6:
        return f"({r.randint(201, 989)}) {r.randint(200, 999)}-{r.randint(0, 9999):04d}"
    if u < .8:
        return f"+49 {r.choice(['30', '40', '89'])} {r.randint(1000000, 9999999)}"
    return f"+44 7{r.randint(100, 999)} {r.randint(100000, 999999)}"


def _contact(r: random.Random, i: int, rev: int = 0) -> dict[str, Any]:
    first, last = r.choice(FIRST), r.choice(LAST)
    return {
        "id": f"AAMk{i:09d}", "changeKey": f"ck{rev}", "givenName": first, "surname": last,
        "companyName": r.choice(COMPANIES), "jobTitle": r.choice(["", "CEO", "Buyer", "Engineer"]),
        "emailAddresses": [{"address": f"{first[:1]}.{last.replace(' ', '')}.{i}@example.org".lower(),
                            "name": f"{first} {last}"}],
        "businessPhones": [_phone(r)] if r.random() < .8 else [],
        "mobilePhone": _phone(r) if r.random() < .5 else None,
        "personalNotes": "",
    }


def recording(contacts: int, changes: int) -> tuple[Path, Path]:
    """The full-sync pages and the delta pages (generated once per size)."""
    full, delta = TMP / f"ch_sync_full_{contacts}.jsonl", TMP / f"ch_sync_delta_{contacts}_{changes}.jsonl"
    if full.exists() and delta.exists():
        return full, delta
    r = random.Random(5)
    with full.open("w") as fp:
        for start in range(0, contacts, PAGE):
            fp.write(json.dumps({"value": [_contact(r, i) for i in range(start, min(start + PAGE, contacts))]}) + "\n")
    edits, adds = changes * 6 // 10, changes * 2 // 10
    dels = changes - edits - adds
    ids = r.sample(range(contacts), edits + dels)
    items: list[dict[str, Any]] = [_contact(r, i, rev=1) for i in ids[:edits]]
    items += [_contact(r, contacts + k) for k in range(adds)]
    r.shuffle(items)
    items += [{"id": f"AAMk{i:09d}", "@removed": {"reason": "deleted"}} for i in ids[edits:]]
    with delta.open("w") as fp:
        for start in range(0, len(items), PAGE):
            fp.write(json.dumps({"value": items[start:start + PAGE]}) + "\n")
    return full, delta


def to_record(c: Mapping[str, Any]) -> Any:
    from plugin_host.records import ContactRecord, Deletion, EmailIn, PhoneIn

    if "@removed" in c:
        return Deletion(c["id"])
    phones = [PhoneIn(p, "work") for p in c.get("businessPhones") or ()]
    if c.get("mobilePhone"):
        phones.append(PhoneIn(c["mobilePhone"], "mobile"))
    return ContactRecord(
        first_name=c.get("givenName") or "", last_name=c.get("surname") or "", company=c.get("companyName") or "",
        title=c.get("jobTitle") or "", notes=c.get("personalNotes") or "",
        phones=tuple(phones), emails=tuple(EmailIn(e["address"], "business") for e in c.get("emailAddresses") or ()),
        external_id=c["id"])


def pages(path: Path) -> Iterator[dict[str, Any]]:
    with path.open() as fp:
        for line in fp:
            yield from json.loads(line)["value"]


def source_type(full: Path, delta: Path) -> Any:
    from plugin_host.records import SourceType, SyncEnd

    def pull(settings: Mapping[str, Any], cursor: str | None, ctx: Any) -> Iterator[Any]:
        for c in pages(full if cursor is None else delta):
            yield to_record(c)
        yield SyncEnd(cursor="delta-1" if cursor is None else "delta-2", full_snapshot=cursor is None)

    return SourceType(name="bench_recorded", label="Recorded Graph pages", fields=(), pull=pull,
                      full_snapshot_options=True)


# ------------------------------------------------------------------------------------------ phases
def _name(contacts: int) -> str:
    return f"ch_bench_sync_{contacts}"


def phase_setup(backend: str, contacts: int) -> None:
    url = reset_sqlite(_name(contacts)) if backend == "sqlite" else reset_pg(PG_DB)
    ids = migrate_and_seed(url)
    from plugin_host import create_app
    from plugin_host.directory import principal_for
    from plugin_host.models import db
    from plugin_host.sync.engine import SourceService

    app = create_app(app_config(url))
    with app.app_context():
        s = db.session
        svc = SourceService(s, principal_for(s, ids["user_id"]), app,
                            source_types={"bench_recorded": source_type(Path(), Path())})
        src = svc.create({"plugin": "bench_recorded", "name": "Recorded", "enabled": False, "remove_absent": True})
        s.commit()
    emit({**ids, "source_id": src["id"]})


def phase_sync(backend: str, contacts: int, changes: int) -> None:
    from plugin_host import create_app
    from plugin_host.models import db
    from plugin_host.records import PullContext
    from plugin_host.sync.runner import run_source

    full, delta = recording(contacts, changes)
    url = db_url("sqlite", _name(contacts)) if backend == "sqlite" else db_url("pg", PG_DB)
    app = create_app(app_config(url))
    stype = source_type(full, delta)
    with app.app_context():
        s = db.session
        ctx = PullContext(sleep=lambda _s: None, now=time.time, log=lambda _m: None)
        t = time.perf_counter()
        run = run_source(s, app, 1, "bench", ctx, source_type=stype)
        secs = time.perf_counter() - t
    n = run["added"] + run["updated"] + run["deleted"]
    emit({"ok": run["ok"], "full": run["full"], "added": run["added"], "updated": run["updated"],
          "deleted": run["deleted"], "errors": run["errors"], "contacts": n, "seconds": round(secs, 2),
          "rate": round(n / secs), "message": run["message"]})


def phase_baseline(backend: str, contacts: int, changes: int, which: str) -> None:
    """Same pages: json.loads + mapping + normalise; then a plain executemany (no secondary index)."""
    from plugin_host.phones import normalise
    from plugin_host.records import Deletion

    full, delta = recording(contacts, changes)
    ddl = ("CREATE TABLE base_sync (id INTEGER PRIMARY KEY, external_id TEXT, first_name TEXT, last_name TEXT, "
           "company TEXT, title TEXT, email TEXT, phone1 TEXT, phone2 TEXT)")
    conn, sql = baseline_table(backend, "ch_bench_sync_baseline", "base_sync", ddl,
                               ["external_id", "first_name", "last_name", "company", "title", "email", "phone1",
                                "phone2"], PG_DB)
    t = time.perf_counter()
    n, batch = 0, []
    for c in pages(full if which == "full" else delta):
        rec = to_record(c)
        n += 1
        if isinstance(rec, Deletion):
            continue
        ph = [normalise(p.number, "US").e164 for p in rec.phones or ()] + [None, None]
        batch.append((rec.external_id, rec.first_name, rec.last_name, rec.company, rec.title,
                      rec.emails[0].address if rec.emails else None, ph[0], ph[1]))
        if len(batch) >= 1000:
            conn.cursor().executemany(sql, batch)
            batch = []
    if batch:
        conn.cursor().executemany(sql, batch)
    conn.commit()
    secs = time.perf_counter() - t
    conn.close()
    emit({"contacts": n, "seconds": round(secs, 2), "rate": round(n / secs)})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--contacts", type=int, default=100_000)
    ap.add_argument("--changes", type=int, default=10_000)
    ap.add_argument("--db", choices=("sqlite", "pg", "both"), default="both")
    ap.add_argument("--phase", choices=("setup", "sync", "baseline"), help=argparse.SUPPRESS)
    ap.add_argument("--backend", choices=("sqlite", "pg"), help=argparse.SUPPRESS)
    ap.add_argument("--which", choices=("full", "delta"), default="full", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.phase == "setup":
        return phase_setup(a.backend, a.contacts)
    if a.phase == "sync":
        return phase_sync(a.backend, a.contacts, a.changes)
    if a.phase == "baseline":
        return phase_baseline(a.backend, a.contacts, a.changes, a.which)

    full, delta = recording(a.contacts, a.changes)
    print(f"recording: {full} ({full.stat().st_size / 1e6:.0f} MB), {delta} ({delta.stat().st_size / 1e6:.1f} MB)")
    for backend in (["sqlite", "pg"] if a.db == "both" else [a.db]):
        common = ["--backend", backend, "--contacts", str(a.contacts), "--changes", str(a.changes)]
        run_phase(MODULE, "--phase", "setup", *common)
        base_full = run_phase(MODULE, "--phase", "baseline", "--which", "full", *common)
        base_delta = run_phase(MODULE, "--phase", "baseline", "--which", "delta", *common)
        first = run_phase(MODULE, "--phase", "sync", *common)
        second = run_phase(MODULE, "--phase", "sync", *common)
        for label, res, base in (("full sync", first, base_full), ("delta", second, base_delta)):
            print(f"[{backend}] baseline ({label} pages, json.loads + map + normalise + executemany): "
                  f"{base['rate']:>8,} contacts/s  peak RSS {base['peak_rss_mb']:5.0f} MB")
            print(f"[{backend}] {label:<10} {res['rate']:>8,} contacts/s  {res['seconds']:7.1f} s  "
                  f"peak RSS {res['peak_rss_mb']:5.0f} MB  x{res['rate'] / base['rate']:.2f} baseline  "
                  f"[ok={res['ok']} full={res['full']}: {res['added']} added, {res['updated']} updated, "
                  f"{res['deleted']} deleted, {res['errors']} errors]")


if __name__ == "__main__":
    main()
