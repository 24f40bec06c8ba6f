"""Issue 7: server time of the Customers tab at 1,000,000 contacts (SQLite and PostgreSQL).

    .venv/bin/python -m bench.customers_tab [--rows N] [--db sqlite|pg|both] [--samples N]

As an AGENT (global + two departments + own private contacts), through the WSGI stack
(``app.test_client()``, bearer token): the first page, a search keystroke (q = 1-4 letters),
and a list switch (static list of ~5k members, dynamic list). p50/p95 in ms; target p95 < 50 ms.
Baseline of the ratio: a raw DBAPI indexed equality query on contact_phones.e164, same run.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from bench._data import backends, ensure_dataset, line, machine_speed, open_app, parse_args, timed
from bench.lookup_search import baseline

KEYSTROKES = ["m", "mu", "mul", "mull", "s", "sc", "sch", "schm", "j", "jo", "joh", "john", "g", "go", "gon",
              "gonz", "w", "wi", "wis", "wisn", "a", "ac", "acm", "acme", "z", "zh", "zha", "zhan", "l", "le",
              "lef", "lefe", "o", "o'", "o'b", "o'br", "x", "xa", "xav", "xavi"]


def run(backend: str, args: Any) -> None:
    from flask_migrate import upgrade

    from plugin_host.models import db

    meta = ensure_dataset(backend, args.rows, args.reload)
    app = open_app(backend, args.rows)
    r = random.Random(5)
    nums = meta["numbers"][:]
    r.shuffle(nums)
    print(f"\n== {backend}: {meta['n_contacts']:,} contacts ==")
    with app.app_context():
        upgrade()
        b50 = statistics.median(baseline(backend, args.rows, meta["tenant_id"], nums[: args.samples]))
        print(f"  baseline: raw DBAPI e164 equality p50 {b50:.3f} ms")
    # Requests run with no app context open, so that each has its own and ends its transaction as
    # in a server (read-only: COMMIT on PostgreSQL, keeping psycopg's prepared statements).
    client = app.test_client()
    hdr = {"Authorization": f"Bearer {meta['tokens']['agent']}"}

    def get(url: str, **qs: Any) -> Any:
        resp = client.get(url, query_string=qs, headers=hdr)
        assert resp.status_code == 200, (url, qs, resp.data[:300])
        return resp.get_json()

    n = args.samples
    first = timed(lambda _: get("/api/v1/contacts", limit=50), [None] * max(20, n // 4))
    print(line("first page GET /contacts?limit=50", first, b50, 95, 50))
    page = get("/api/v1/contacts", limit=50)
    nxt = page["next"]
    print(line("next page (keyset cursor)", timed(lambda c: get("/api/v1/contacts", limit=50, after=c),
                                                  [nxt] * max(20, n // 4)), b50, 95, 50))
    per: dict[str, list[float]] = {}
    reps = max(3, n // len(KEYSTROKES))
    for q in KEYSTROKES:
        per[q] = timed(lambda q: get("/api/v1/contacts", limit=50, q=q), [q] * reps, warmup=1)
    allq = [v for vs in per.values() for v in vs]
    print(line("search keystroke q=1-4 letters", allq, b50, 95, 50))
    for k in (1, 2, 3, 4):
        ks = [v for q, vs in per.items() if len(q) == k for v in vs]
        print(line(f"  q of {k} letter(s)", ks, b50, 95, 50))
    worst = sorted(per.items(), key=lambda kv: -pct95(kv[1]))[:6]
    print("    slowest q: " + ", ".join(f"{q!r} p95 {pct95(v):.1f} ms" for q, v in worst))
    for name, lid in (("static list (~5k members)", meta["static_list"]),
                      ("dynamic list (saved filter)", meta["dynamic_list"])):
        url = f"/api/v1/lists/{lid}/members"
        ms = timed(lambda _, url=url: get(url, limit=50), [None] * max(20, n // 4))
        print(line(f"list switch: {name}", ms, b50, 95, 50))
        ms = timed(lambda _, url=url: get(url, limit=50, with_total="true"), [None] * max(10, n // 20), warmup=2)
        print(line("  same with_total=true", ms, b50, 95))
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def pct95(v: list[float]) -> float:
    from bench._data import pct

    return pct(v, 95)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    print(f"bench.customers_tab  rows={args.rows:,}  {time.strftime('%Y-%m-%d %H:%M')}  {machine_speed()}")
    for backend in backends(args.db):
        run(backend, args)


if __name__ == "__main__":
    main()
