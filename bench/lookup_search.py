"""Issue 3: caller-ID lookup and first-page search latency at 1,000,000 contacts (SQLite and PostgreSQL).

    .venv/bin/python -m bench.lookup_search [--rows N] [--db sqlite|pg|both] [--samples N]

Prints p50/p99 (lookup) and p50/p95 (search) in milliseconds and each figure's ratio to the
baseline measured in the same run: a raw DBAPI indexed equality query on contact_phones.e164.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import time
from typing import Any

from bench._data import backends, ensure_dataset, line, machine_speed, open_app, parse_args, timed, url_for

SEARCHES = ["m", "s", "mu", "sch", "mül", "mull", "muller", "jo", "john", "ga", "gonz", "de j", "o'b", "zh",
            "x", "yam", "acme", "lef", "ang", "wis", "ann", "zzq", "xyz", "smith j", "ro"]
LETTERS = list("ABCDEFGHIJKLMNOPQRSTUVWXYZ#")


def baseline(backend: str, rows: int, tenant_id: int, numbers: list[str]) -> list[float]:
    sql = "SELECT contact_id FROM contact_phones WHERE tenant_id = {0} AND e164 = {0}"
    if backend == "sqlite":
        conn = sqlite3.connect(url_for(backend, rows).removeprefix("sqlite:///"))
        cur = conn.cursor()
        q = sql.format("?")
        out = timed(lambda n: cur.execute(q, (tenant_id, n)).fetchall(), numbers)
    else:
        import psycopg

        conn = psycopg.connect("host=127.0.0.1 user=postgres dbname=" + url_for(backend, rows).rsplit("/", 1)[1])
        cur = conn.cursor()
        q = sql.format("%s")
        out = timed(lambda n: cur.execute(q, (tenant_id, n), prepare=True).fetchall(), numbers)
    conn.close()
    return out


def run(backend: str, args: Any) -> None:
    from flask_migrate import upgrade

    from plugin_host.directory import principal_for
    from plugin_host.models import db, end_transaction
    from plugin_host.repo.contacts import ContactRepository
    from plugin_host.repo.lookup import LookupRepository
    from plugin_host.repo.query import ContactQuery

    meta = ensure_dataset(backend, args.rows, args.reload)
    app = open_app(backend, args.rows)
    r = random.Random(3)
    hits = meta["numbers"][:]
    r.shuffle(hits)
    hits = (hits * (args.samples // len(hits) + 1))[: args.samples]
    misses = [f"+4930{r.randint(10**8, 10**9 - 1)}" for _ in range(max(50, args.samples // 4))]
    print(f"\n== {backend}: {meta['n_contacts']:,} contacts, {meta['n_phones']:,} phones "
          f"(loaded in {meta['load_seconds']} s) ==")
    with app.app_context():
        upgrade()
        base = baseline(backend, args.rows, meta["tenant_id"], hits)
    b50 = statistics.median(base)
    print(line("baseline: raw DBAPI e164 equality", base, None, 99))
    # In-process figures are repository calls in one session (a caller holding a session, as the
    # PBX's in-process lookup does); the HTTP calls run with no app context open, so each request has
    # its own and ends its transaction as in a server (``end_transaction``).
    with app.app_context():
        s = db.session
        agent = principal_for(s, meta["agent"])
        admin = principal_for(s, meta["admin"])
        lk = LookupRepository(s, agent)
        print(line("match_ids (agent, hit)", timed(lk.match_ids, hits), b50, 99, 1, 50))
        print(line("match_ids (agent, miss: e164+national+suffix)", timed(lk.match_ids, misses),
                   b50, 99, 1, 50))
        print(line("lookup (agent, hit, hydrated)", timed(lk.lookup, hits), b50, 99, 1, 50))
        print(line("lookup (admin, hit, hydrated)", timed(LookupRepository(s, admin).lookup, hits),
                   b50, 99, 1, 50))
    client = app.test_client()
    hdr = {"Authorization": f"Bearer {meta['tokens']['agent']}"}

    def http(n: str) -> None:
        resp = client.get("/api/v1/lookup", query_string={"number": n}, headers=hdr)
        assert resp.status_code == 200, resp.data

    print(line("GET /api/v1/lookup (test_client, hit)", timed(http, hits), b50, 99, 10))
    print(line("GET /api/v1/lookup (test_client, miss)", timed(http, misses), b50, 99, 10))
    if not args.no_http:
        import requests

        from bench._http import waitress_server

        with waitress_server(app) as root, requests.Session() as sess:
            def real(n: str) -> None:
                resp = sess.get(root + "/api/v1/lookup", params={"number": n}, headers=hdr)
                assert resp.status_code == 200, resp.text

            print(line("GET /api/v1/lookup (waitress+requests, hit)", timed(real, hits), b50, 99, 10))
    with app.app_context():
        s = db.session
        agent = principal_for(s, meta["agent"])

        repo = ContactRepository(s, agent)

        def page(query: ContactQuery) -> None:
            # one page as a request runs it: the repository call, then the transaction ended the way
            # the app ends a request's (``end_transaction``: COMMIT when nothing was written, so the
            # connection keeps its prepared statements, as a server process's does)
            repo.list(query)
            end_transaction(s)

        reps = max(3, args.samples // len(SEARCHES))
        per: dict[str, list[float]] = {}
        for q in SEARCHES:
            per[q] = timed(lambda q: page(ContactQuery(q=q, limit=50)), [q] * reps, warmup=1)
        allq = [v for vs in per.values() for v in vs]
        print(line("search first page (agent, q=prefix, 50 rows)", allq, b50, 95, 20))
        worst = sorted(per.items(), key=lambda kv: -statistics.median(kv[1]))[:5]
        print("    slowest q: " + ", ".join(f"{q!r} {statistics.median(v):.1f} ms" for q, v in worst))
        # The same queries as a pure name-prefix search (``match=prefix``: no substring matching of
        # 3+ letter words, which the default ``auto`` adds).
        prefix = [v for q in SEARCHES
                  for v in timed(lambda q: page(ContactQuery(q=q, match="prefix", limit=50)), [q] * reps, warmup=1)]
        print(line("search first page, match=prefix (agent, 50 rows)", prefix, b50, 95, 20))
        reps = max(3, args.samples // len(LETTERS))
        perl: dict[str, list[float]] = {}
        for letter in LETTERS:
            perl[letter] = timed(lambda x: page(ContactQuery(letter=x, limit=50)), [letter] * reps, warmup=1)
        alll = [v for vs in perl.values() for v in vs]
        print(line("A-Z letter first page (agent, 50 rows)", alll, b50, 95, 20))
        worst = sorted(perl.items(), key=lambda kv: -statistics.median(kv[1]))[:5]
        print("    slowest letters: " + ", ".join(f"{q!r} {statistics.median(v):.1f} ms" for q, v in worst))
        s.close()
        db.engine.dispose()


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    print(f"bench.lookup_search  rows={args.rows:,}  {time.strftime('%Y-%m-%d %H:%M')}  {machine_speed()}")
    for backend in backends(args.db):
        run(backend, args)


if __name__ == "__main__":
    main()
