"""Shared benchmark fixture: a generated tenant with N contacts, loaded straight into the Core tables.

Rows are generated (names from several locales, phones from several countries, e-mails) in a
worker pool fed through a bounded window; derived columns come from the repository's own
``derived``/``phone_rows``/``email_rows`` (which use ``phones.normalise``). SQLite is written
with executemany on the raw connection, PostgreSQL with COPY. The schema is created by the
migrations. A loaded database is reused by later runs (a JSON sidecar describes it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

PG_DB = os.environ.get("CH_BENCH_PG_DB", "ch_bench")


def pg_db(rows: int) -> str:
    """``ch_bench`` for the default 1M rows, ``ch_bench_<rows>`` for other sizes (kept apart)."""
    return PG_DB if rows == 1_000_000 else f"{PG_DB}_{rows}"
SQLITE_DIR = Path(os.environ.get("CH_BENCH_SQLITE_DIR", "/tmp"))
BATCH = 5000
N_DEPTS = 8
N_AGENTS = 40
STATIC_LIST_SIZE = 5000
COUNTRIES = [  # (region, weight, national-format generator)
    ("US", 30, lambda r: f"({r.randint(201, 989)}) {r.randint(200, 999)}-{r.randint(0, 9999):04d}"),
    ("DE", 20, lambda r: f"0{r.choice(['30', '40', '89', '69', '221', '711'])} {r.randint(1000000, 9999999)}"),
    ("GB", 15, lambda r: f"07{r.randint(100, 999)} {r.randint(100000, 999999)}"),
    ("FR", 12, lambda r: f"0{r.randint(1, 7)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}"),  # noqa: E501
    ("IT", 8, lambda r: f"3{r.randint(20, 99)} {r.randint(1000000, 9999999)}"),
    ("ES", 7, lambda r: f"6{r.randint(10, 99)} {r.randint(100, 999)} {r.randint(100, 999)}"),
    ("NL", 5, lambda r: f"06 {r.randint(10000000, 99999999)}"),
    ("CH", 3, lambda r: f"07{r.choice('6789')} {r.randint(100, 999)} {r.randint(10, 99)} {r.randint(10, 99)}"),
]
FIRST = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "Lukas", "Lena", "Jürgen", "Jörg", "Sören", "Björn", "Müller", "Özlem", "Hans", "Greta", "Oliver", "Amelia", "Harry", "Isla", "George", "Ava", "Jean", "Marie", "Élodie", "Loïc", "Hélène", "François", "Giulia", "Marco", "Francesca", "Luca", "Sofía", "José", "María", "Ángel", "Lucía", "Javier", "Daan", "Sanne", "Bram", "Femke", "Noah", "Zoë", "Chloé", "Niamh", "Siobhán", "Łukasz", "Zofia", "Agnieszka", "Søren", "Åsa", "Ingrid", "Olav", "Emma", "Liam", "Yuki", "Wei"]  # noqa: E501
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schäfer", "Koch", "Taylor", "Wilson", "Evans", "Thomas", "Roberts", "Walker", "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Lefèvre", "Moreau", "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "González", "Fernández", "López", "Sánchez", "Pérez", "Gómez", "de", "Jong", "Jansen", "de", "Vries", "van", "den", "Berg", "Bakker", "Janssen", "Visser", "Smit", "Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kamiński", "Ødegård", "Østergaard", "Ångström", "O'Brien", "O'Connor", "MacDonald", "Zimmermann", "Xavier", "Young", "Quinn", "Ivanov", "Yamamoto", "Zhang"]  # noqa: E501
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent", "Tyrell", "Cyberdyne", "Wonka", "Aperture", "Massive", "Dynamic", "Gringotts", "Monarch", "Prestige", "Oceanic", "Virtucon", "Zorg", "Nakatomi", "Bluth", "Dunder"]  # noqa: E501
SOURCES = ["web", "referral", "event", "import", None, None]
STATUSES = ["active"] * 8 + ["inactive", "lead"]


def parse_args(description: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--db", choices=("sqlite", "pg", "both"), default="both")
    ap.add_argument("--samples", type=int, default=400, help="timed calls per measurement")
    ap.add_argument("--reload", action="store_true", help="rebuild the benchmark database")
    ap.add_argument("--no-http", action="store_true", help="skip the real waitress server measurements")
    return ap.parse_args()


def backends(choice: str) -> list[str]:
    return ["sqlite", "pg"] if choice == "both" else [choice]


# ------------------------------------------------------------------------------------------ timing
def machine_speed(rounds: int = 3) -> str:
    """A fixed pure-Python loop (10^7 additions), best and worst of ``rounds``: on a shared virtual
    machine the same code runs up to 2x slower from one hour to the next, which every figure inherits."""
    secs = []
    for _ in range(rounds):
        t = time.perf_counter()
        total = 0
        for i in range(10_000_000):
            total += i
        secs.append(time.perf_counter() - t)
    return f"machine: 10^7-addition Python loop {min(secs):.2f}-{max(secs):.2f} s"


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def timed(fn: Callable[[Any], Any], args: list[Any], warmup: int = 20) -> list[float]:
    """Milliseconds per call of ``fn(arg)`` for each arg (after ``warmup`` untimed calls)."""
    for a in args[:warmup]:
        fn(a)
    out = []
    for a in args:
        t = time.perf_counter()
        fn(a)
        out.append((time.perf_counter() - t) * 1000)
    return out


def line(label: str, ms: list[float], baseline: float | None, hi: int = 99, target: float | None = None,
         target_at: int | None = None) -> str:
    """One result line; ``target`` applies to percentile ``target_at`` (default: ``hi``)."""
    p50, phi = statistics.median(ms), pct(ms, hi)
    at = target_at or hi
    ratio = f"  x{p50 / baseline:7.1f} baseline p50" if baseline else ""
    tgt = ""
    if target is not None:
        got = pct(ms, at) if at != 50 else p50
        tgt = f"  target p{at} < {target:g} ms: {'OK' if got < target else 'MISSED'}"
    return f"  {label:<48} p50 {p50:8.3f} ms  p{hi} {phi:8.3f} ms{ratio}{tgt}"


# ------------------------------------------------------------------------------------------ generation
def _batch(args: tuple[int, int, int, int]) -> tuple[list[tuple], list[tuple], list[tuple], list[tuple]]:
    """Rows of contacts ``start``..``start+n``: (contacts, phones, emails, list members)."""
    from plugin_host.repo.children import derived, email_rows, phone_rows

    start, n, tenant_id, seed = args
    r = random.Random(seed * 1_000_003 + start)
    meta = _meta_cache()
    agents, _dept_members = meta["agents"], meta["dept_of_agent"]
    now = datetime(2026, 1, 1)
    contacts, phones, emails = [], [], []
    regions = [c[0] for c in COUNTRIES]
    weights = [c[1] for c in COUNTRIES]
    gens = {c[0]: c[2] for c in COUNTRIES}
    for cid in range(start, start + n):
        first, last = r.choice(FIRST), r.choice(LAST)
        company = r.choice(COMPANIES) + " " + r.choice(("GmbH", "Ltd", "Inc", "SA", "BV", "")) if r.random() < .6 else None  # noqa: E501
        if r.random() < .03:
            first, last = "", ""
        u = r.random()
        if u < .60:
            vis, dept, owner = "global", None, None
        elif u < .85:
            vis, dept, owner = "department", r.randint(1, N_DEPTS), None
        else:
            owner = r.choice(agents)
            vis, dept = "private", None
        region = r.choices(regions, weights)[0]
        raw = [{"number": gens[region](r), "label": "work"}]
        if r.random() < .5:
            reg2 = r.choices(regions, weights)[0]
            num = gens[reg2](r)
            if reg2 != region or r.random() < .5:  # international form for the others
                from plugin_host.phones import normalise
                e = normalise(num, reg2).e164
                num = e if e else num
            raw.append({"number": num, "label": "mobile"})
        prow = phone_rows(raw, region)
        local = (f"{fold_ascii(first)}.{fold_ascii(last)}" if first else "info").strip(".") or "x"
        erow = email_rows([{"address": f"{local}{cid}@example{cid % 97}.com", "label": "work"}])
        values = {"first_name": first, "last_name": last, "company": company}
        d = derived(values, prow, erow)
        contacts.append((cid, tenant_id, first, last, company, None, "customer", None, None, r.choice(STATUSES),
                         r.choice(SOURCES), None, None, None, None, None, None, None,
                         r.random() < .3, r.random() < .2, r.random() < .1, vis, dept, owner, None, None, None,
                         False, d["first_key"], d["last_key"], d["company_key"], d["sort_key"], d["search_text"],
                         1, None, None, now, now))
        for i, p in enumerate(prow):
            phones.append((cid * 2 + i, tenant_id, cid, p["position"], p["label"], p["raw"], p["e164"],
                           p["national"], p["extension"], p["kind"], p["digits_rev"]))
        for e in erow:
            emails.append((cid, tenant_id, cid, e["position"], e["label"], e["address"], e["address_key"]))
    return contacts, phones, emails, []


def fold_ascii(s: str) -> str:
    from plugin_host.text import fold
    return "".join(c for c in fold(s) if c.isalnum())


_META: dict[str, Any] | None = None


def _meta_cache() -> dict[str, Any]:
    global _META
    if _META is None:
        _META = json.loads(os.environ["CH_BENCH_META"])
    return _META


CONTACT_COLS = ("id", "tenant_id", "first_name", "last_name", "company", "account_id", "contact_type", "title",
                "org_department", "status", "acquisition_source", "preferred_channel", "language", "timezone",
                "notes", "fb_user_id", "external_crm_id", "external_crm_provider", "opt_in_email", "opt_in_sms",
                "opt_in_whatsapp", "visibility", "department_id", "owner_id", "source_id", "external_id",
                "seen_run_id", "locally_modified", "first_key", "last_key", "company_key", "sort_key",
                "search_text", "version", "created_by", "updated_by", "created_at", "updated_at")
PHONE_COLS = ("id", "tenant_id", "contact_id", "position", "label", "raw", "e164", "national", "extension", "kind",
              "digits_rev")
EMAIL_COLS = ("id", "tenant_id", "contact_id", "position", "label", "address", "address_key")


def generate(rows: int, tenant_id: int, meta: dict[str, Any], seed: int = 7) -> Iterator[tuple]:
    """Batches from a 2-process pool, at most 4 batches in flight (bounded memory)."""
    os.environ["CH_BENCH_META"] = json.dumps(meta)
    jobs = [(s, min(BATCH, rows + 1 - s), tenant_id, seed) for s in range(1, rows + 1, BATCH)]
    ctx = get_context("fork")
    with ctx.Pool(2) as pool:
        pending: list[Any] = []
        it = iter(jobs)
        for job in it:
            pending.append(pool.apply_async(_batch, (job,)))
            if len(pending) >= 4:
                yield pending.pop(0).get()
        while pending:
            yield pending.pop(0).get()


# ------------------------------------------------------------------------------------------ databases
def url_for(backend: str, rows: int) -> str:
    if backend == "sqlite":
        return f"sqlite:///{SQLITE_DIR / f'ch_bench_{rows}.db'}"
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg_db(rows)}"


def config_for(url: str) -> dict[str, Any]:
    inst = SQLITE_DIR / "ch_bench_instance"
    inst.mkdir(exist_ok=True)
    return {"DATABASE_URL": url, "INSTANCE_PATH": str(inst), "TESTING": False, "SECRET_KEY": "bench",
            "ENCRYPTION_KEY": "x6nLnJ0tuEVPYDAoZzDt0GaIeqdU-CrTWXqkNP5mbjk=", "SCHEDULER": False,
            "LOGIN_RATE_LIMIT": 100000, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}


def _sidecar(backend: str, rows: int) -> Path:
    return SQLITE_DIR / f"ch_bench_{backend}_{rows}.json"


def _reset(backend: str, rows: int) -> None:
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(str(SQLITE_DIR / f"ch_bench_{rows}.db") + suffix).unlink(missing_ok=True)
    else:
        env = {**os.environ, "PGHOST": "127.0.0.1", "PGUSER": "postgres"}
        subprocess.run(["dropdb", "--if-exists", pg_db(rows)], check=True, env=env)
        subprocess.run(["createdb", pg_db(rows)], check=True, env=env)


def ensure_dataset(backend: str, rows: int, reload: bool = False) -> dict[str, Any]:
    """Load (or reuse) the benchmark database; returns its description (users, tokens, lists, numbers)."""
    side = _sidecar(backend, rows)
    if side.exists() and not reload:
        meta = json.loads(side.read_text())
        if meta.get("complete"):
            return meta
    side.unlink(missing_ok=True)
    _reset(backend, rows)
    from flask_migrate import upgrade
    from sqlalchemy import text

    from plugin_host import create_app
    from plugin_host.directory import create_department, create_tenant, create_user, set_membership
    from plugin_host.models import db
    from plugin_host.tokens import issue

    url = url_for(backend, rows)
    app = create_app(config_for(url))
    t0 = time.perf_counter()
    with app.app_context():
        upgrade()
        s = db.session
        tid = create_tenant(s, "bench", "Bench tenant", "US")
        admin = create_user(s, tid, "admin", "benchpass1", is_admin=True)
        depts = [create_department(s, tid, f"Queue {i}") for i in range(1, N_DEPTS + 1)]
        agents, dept_of = [], {}
        for i in range(N_AGENTS):
            uid = create_user(s, tid, f"agent{i}", "benchpass1")
            mine = [depts[i % N_DEPTS], depts[(i + 3) % N_DEPTS]]
            for d in mine:
                set_membership(s, d, uid)
            agents.append(uid)
            dept_of[uid] = mine
        tokens = {}
        for uid, name in ((agents[0], "agent"), (admin, "admin")):
            tokens[name], _ = issue(s, tid, uid, f"bench-{name}", ["read"])
        s.commit()
        assert depts == list(range(1, N_DEPTS + 1)), depts
        meta = {"backend": backend, "rows": rows, "tenant_id": tid, "admin": admin, "agents": agents,
                "agent": agents[0], "dept_of_agent": {str(k): v for k, v in dept_of.items()}, "tokens": tokens}
        n_contacts = n_phones = 0
        raw = db.engine.raw_connection()
        dbapi = raw.driver_connection
        cur = dbapi.cursor()
        if backend == "sqlite":
            cur.execute("PRAGMA cache_size=-1048576")
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("BEGIN")
            ins = {name: f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                   for name, cols in (("contacts", CONTACT_COLS), ("contact_phones", PHONE_COLS),
                                      ("contact_emails", EMAIL_COLS))}
            for contacts, phones, emails, _ in generate(rows, tid, meta):
                cur.executemany(ins["contacts"], contacts)
                cur.executemany(ins["contact_phones"], phones)
                cur.executemany(ins["contact_emails"], emails)
                n_contacts += len(contacts)
                n_phones += len(phones)
                if n_contacts % 100_000 < BATCH:
                    print(f"    loaded {n_contacts:,} contacts ({time.perf_counter() - t0:.0f} s)", flush=True)
            dbapi.commit()
        else:
            for contacts, phones, emails, _ in generate(rows, tid, meta):
                for name, cols, data in (("contacts", CONTACT_COLS, contacts), ("contact_phones", PHONE_COLS, phones),
                                         ("contact_emails", EMAIL_COLS, emails)):
                    with cur.copy(f"COPY {name} ({', '.join(cols)}) FROM STDIN") as cp:
                        for row in data:
                            cp.write_row(row)
                n_contacts += len(contacts)
                n_phones += len(phones)
                if n_contacts % 100_000 < BATCH:
                    print(f"    loaded {n_contacts:,} contacts ({time.perf_counter() - t0:.0f} s)", flush=True)
            for name in ("contacts", "contact_phones", "contact_emails"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
            dbapi.commit()
        raw.close()
        load_s = time.perf_counter() - t0
        # lists: a static list of ~5k members, a dynamic list (saved filter), both global
        now = datetime(2026, 1, 1)
        lists = T_lists = db.metadata.tables["lists"]
        static_id = s.execute(lists.insert().values(tenant_id=tid, name="Static 5k", kind="static", description="",
                                                    criteria={}, visibility="global", created_at=now)
                              .returning(T_lists.c.id)).scalar_one()
        dynamic_id = s.execute(lists.insert().values(
            tenant_id=tid, name="Dynamic web leads", kind="dynamic", description="",
            criteria={"acquisition_source": "referral", "opt_in_email": True}, visibility="global", created_at=now)
            .returning(T_lists.c.id)).scalar_one()
        r = random.Random(11)
        members = sorted(r.sample(range(1, rows + 1), min(STATIC_LIST_SIZE, rows)))
        s.execute(db.metadata.tables["list_members"].insert(),
                  [{"list_id": static_id, "contact_id": c, "added_at": now} for c in members])
        s.commit()
        # numbers that exist (E.164) for the lookups, with their contact's scope
        sample = s.execute(text(
            "SELECT p.e164, p.raw FROM contact_phones p WHERE p.e164 IS NOT NULL AND p.id % 997 = 0 LIMIT 3000")).all()
        meta.update(static_list=static_id, dynamic_list=dynamic_id, numbers=[e for e, _ in sample],
                    raw_numbers=[raw_ for _, raw_ in sample], n_contacts=n_contacts, n_phones=n_phones,
                    load_seconds=round(load_s, 1))
        t1 = time.perf_counter()
        if backend == "pg":
            # VACUUM as autovacuum would after a bulk load: statistics, and the visibility map that
            # lets index-only scans skip the table (a freshly COPYed table has none).
            s.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        else:
            s.execute(text("ANALYZE"))
            s.commit()
        meta["analyze_seconds"] = round(time.perf_counter() - t1, 1)
        db.engine.dispose()
    meta["complete"] = True
    side.write_text(json.dumps(meta))
    print(f"    {backend}: {n_contacts:,} contacts, {n_phones:,} phones loaded in {meta['load_seconds']} s, "
          f"ANALYZE {meta['analyze_seconds']} s", flush=True)
    return meta


def open_app(backend: str, rows: int) -> Any:
    """The app on the benchmark database, its files first read into the operating system's cache."""
    from plugin_host import create_app

    warm(backend, rows)
    return create_app(config_for(url_for(backend, rows)))


def warm(backend: str, rows: int) -> None:
    """Reads the whole benchmark database once, so that figures are those of a server whose data is in
    memory (as a PBX's lookup database is) and not of whatever this machine's page cache kept since the
    load: on a shared VM it drops files between runs, and a raw indexed lookup then measured 0.5 ms
    instead of 0.08 (disk reads)."""
    t0 = time.perf_counter()
    if backend == "pg":
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={pg_db(rows)}", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            blocks = conn.execute("SELECT coalesce(sum(pg_prewarm(c.oid, 'read')), 0) FROM pg_class c "
                                  "WHERE c.relkind IN ('r', 'i', 't') AND c.relpersistence = 'p' "
                                  "AND c.relnamespace = 'public'::regnamespace").fetchone()[0]
        size = int(blocks) * 8192
    else:
        path = Path(url_for(backend, rows).removeprefix("sqlite:///"))
        size = 0
        for f in (path, path.with_name(path.name + "-wal")):
            if f.exists():
                with f.open("rb") as fh:
                    while chunk := fh.read(1 << 24):
                        size += len(chunk)
    print(f"    warmed: read {size / 2**20:,.0f} MB of the database in {time.perf_counter() - t0:.1f} s", flush=True)
