"""Issue 4: a generated 1,000,000-row PBX CSV imported end to end into SQLite and PostgreSQL.

Phases, each in a fresh interpreter so that each has its own peak RSS (VmHWM):

* ``baseline``: stdlib ``csv.reader`` + ``phones.normalise`` + a plain DBAPI ``executemany``
  into a table without secondary indexes (one transaction);
* ``import``: ``plugin_host.importing.pipeline.run_import`` on a migrated database (tenant +
  admin from ``plugin_host.directory``), ``ImportOptions(match_keys=("email",))``, a new file:
  every row creates a contact;
* ``reimport``: the same file again: every row matches on e-mail. Nothing in it differs from
  what is stored, so no row is written (an unchanged contact keeps its version);
* ``reimport, changed``: the file with every row's ``notes`` changed: every row matches and is
  written (a real update of every contact).

Peak RSS is reported for the importing process and for the import's reading process (the
largest waited-for child, ``RUSAGE_CHILDREN``), and their sum.

Benchmarks are not tests: figures and ratios are printed, nothing is asserted.

    .venv/bin/python -m bench.import_csv [--rows N] [--db sqlite|pg|both] [--profile]
"""

from __future__ import annotations

import argparse
import csv
import random
import time
from pathlib import Path

from bench._data import machine_speed
from bench._mem import (
    TMP,
    baseline_table,
    children_peak_rss_mb,
    db_url,
    emit,
    migrate_and_seed,
    reset_pg,
    reset_sqlite,
    run_phase,
)

MODULE = "bench.import_csv"
PG_DB = "ch_bench_import"
BATCH = 5000
HEADER = ("name", "last_name", "company", "contact_type", "phone", "phone_label", "email", "email_label",
          "fbUserId", "notes")
FIRST = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "Lukas", "Lena", "Jürgen",
         "Sören", "Björn", "Özlem", "Greta", "Oliver", "Amelia", "Harry", "Jean", "Élodie", "Loïc", "Hélène",
         "François", "Giulia", "Marco", "Sofía", "José", "María", "Ángel", "Daan", "Sanne", "Zoë", "Chloé", "Niamh",
         "Siobhán", "Łukasz", "Zofia", "Søren", "Åsa", "Ingrid", "Emma", "Liam", "Yuki", "Wei"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Garcia", "Müller", "Schmidt", "Schäfer", "Taylor", "Evans",
        "Dubois", "Lefèvre", "Moreau", "Rossi", "Esposito", "González", "Fernández", "Pérez", "de Jong",
        "van den Berg", "Nowak", "Wiśniewski", "Ødegård", "Ångström", "O'Brien", "MacDonald", "Zimmermann"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Hooli", "Vandelay", "Tyrell", "Wonka", "Aperture"]
SUFFIX = ["GmbH", "Ltd", "Inc", "SA", "BV", ""]
LABELS = ["mobile", "work", "home", "other", "", "Mobile", "fax"]


def _phone(r: random.Random) -> str:
    """Mixed formats for a US tenant: national US, E.164, 00-prefixed, other countries; extensions; junk."""
    u = r.random()
    a, b, c = r.randint(201, 989), r.randint(200, 999), r.randint(0, 9999)
    if u < .005:
        return r.choice(["n/a", "unknown", "123", "+", "555-01"])
    if u < .015:
        return f"({a}) {b}-{c:04d} x{r.randint(10, 999)}"
    if u < .30:
        return f"({a}) {b}-{c:04d}"
    if u < .45:
        return f"{a}-{b}-{c:04d}"
    if u < .55:
        return f"{a}.{b}.{c:04d}"
    if u < .65:
        return f"+1 {a} {b} {c:04d}"
    if u < .75:
        return f"+49 {r.choice(['30', '40', '89', '221'])} {r.randint(1000000, 9999999)}"
    if u < .82:
        return f"+44 7{r.randint(100, 999)} {r.randint(100000, 999999)}"
    if u < .88:
        return f"0033 {r.randint(1, 7)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}"
    if u < .94:
        return f"+39 3{r.randint(20, 99)} {r.randint(1000000, 9999999)}"
    return f"+34 6{r.randint(10, 99)} {r.randint(100, 999)} {r.randint(100, 999)}"


def generate(path: Path, rows: int, seed: int = 4) -> None:
    """One PBX row per contact (a unique e-mail each), written once and reused."""
    r = random.Random(seed)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fp:
        w = csv.writer(fp, lineterminator="\r\n")
        w.writerow(HEADER)
        for i in range(rows):
            first, last = r.choice(FIRST), r.choice(LAST)
            company = f"{r.choice(COMPANIES)} {r.choice(SUFFIX)}".strip() if r.random() < .6 else ""
            ctype = r.choice(("customer", "customer", "lead", ""))
            email = f"{first[:1]}.{last.replace(' ', '').replace(chr(39), '')}.{i}@example{i % 97}.com".lower()
            fb = str(10**15 + i) if r.random() < .2 else ""
            notes = r.choice(["", "", "", "VIP", "call after 5pm", "prefers e-mail, \"urgent\" only"])
            w.writerow((first, last, company, ctype, _phone(r), r.choice(LABELS), email,
                        r.choice(("business", "private", "", "other")), fb, notes))
    tmp.rename(path)


def changed(src: Path, path: Path) -> None:
    """``src`` with every row's notes changed (everything else the same)."""
    tmp = path.with_suffix(".tmp")
    with src.open(newline="", encoding="utf-8") as fp, tmp.open("w", newline="", encoding="utf-8") as out:
        w = csv.writer(out, lineterminator="\r\n")
        rows = csv.reader(fp)
        w.writerow(next(rows))
        for i, row in enumerate(rows):
            row[9] = f"{row[9]} (seen {i % 1000})".strip()
            w.writerow(row)
    tmp.rename(path)


def csv_path(rows: int, variant: str = "") -> Path:
    p = TMP / f"ch_pbx_{rows}{variant and '_' + variant}.csv"
    if not p.exists():
        t = time.perf_counter()
        if variant == "changed":
            changed(csv_path(rows), p)
        else:
            generate(p, rows)
        print(f"generated {p} ({p.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f} s", flush=True)
    return p


# ------------------------------------------------------------------------------------------ phases
def phase_setup(backend: str, rows: int) -> None:
    name = f"ch_bench_import_{rows}"
    url = reset_sqlite(name) if backend == "sqlite" else reset_pg(PG_DB)
    emit(migrate_and_seed(url))


def phase_baseline(backend: str, rows: int) -> None:
    """stdlib csv parse + phone normalisation + plain executemany (no secondary index)."""
    from plugin_host.phones import normalise

    path = csv_path(rows)
    ddl = ("CREATE TABLE base_contacts (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, company TEXT, "
           "contact_type TEXT, phone_raw TEXT, e164 TEXT, phone_label TEXT, email TEXT, email_label TEXT, "
           "fb_user_id TEXT, notes TEXT)")
    conn, sql = baseline_table(backend, "ch_bench_import_baseline", "base_contacts", ddl,
                               ["first_name", "last_name", "company", "contact_type", "phone_raw", "e164",
                                "phone_label", "email", "email_label", "fb_user_id", "notes"], PG_DB)
    t = time.perf_counter()
    n, batch = 0, []
    with path.open(newline="", encoding="utf-8") as fp:
        reader = csv.reader(fp)
        next(reader)
        for row in reader:
            ph = normalise(row[4], "US")
            batch.append((row[0], row[1], row[2], row[3], ph.raw, ph.e164, row[5], row[6], row[7], row[8], row[9]))
            if len(batch) >= BATCH:
                conn.cursor().executemany(sql, batch)
                n += len(batch)
                batch = []
    if batch:
        conn.cursor().executemany(sql, batch)
        n += len(batch)
    conn.commit()
    secs = time.perf_counter() - t
    conn.close()
    emit({"rows": n, "seconds": round(secs, 2), "rate": round(n / secs)})


def phase_import(backend: str, rows: int, profile: bool, variant: str = "") -> None:
    from bench._mem import app_config
    from plugin_host import create_app
    from plugin_host.directory import principal_for
    from plugin_host.importing.pipeline import ImportOptions, run_import
    from plugin_host.models import db

    path = csv_path(rows, variant)
    url = db_url("sqlite", f"ch_bench_import_{rows}") if backend == "sqlite" else db_url("pg", PG_DB)
    app = create_app(app_config(url))
    with app.app_context():
        s = db.session
        principal = principal_for(s, 1)
        opts = ImportOptions(format_name="pbx_csv", match_keys=("email",))
        t = time.perf_counter()
        if profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            res = prof.runcall(run_import, s, principal, path, opts)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(45)
            pstats.Stats(prof).sort_stats("tottime").print_stats(30)
        else:
            res = run_import(s, principal, path, opts)
        secs = time.perf_counter() - t
    emit({"rows": res.rows, "imported": res.imported, "updated": res.updated, "skipped": res.skipped,
          "errors": res.errors, "seconds": round(secs, 2), "rate": round(res.rows / secs),
          "worker_peak_rss_mb": round(children_peak_rss_mb(), 1)})


# ------------------------------------------------------------------------------------------ driver
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--db", choices=("sqlite", "pg", "both"), default="both")
    ap.add_argument("--phase", choices=("setup", "baseline", "import"), help=argparse.SUPPRESS)
    ap.add_argument("--backend", choices=("sqlite", "pg"), help=argparse.SUPPRESS)
    ap.add_argument("--variant", choices=("", "changed"), default="", help=argparse.SUPPRESS)
    ap.add_argument("--profile", action="store_true", help="cProfile the first import (prints the top functions)")
    a = ap.parse_args()
    if a.phase == "setup":
        return phase_setup(a.backend, a.rows)
    if a.phase == "baseline":
        return phase_baseline(a.backend, a.rows)
    if a.phase == "import":
        return phase_import(a.backend, a.rows, a.profile, a.variant)

    path = csv_path(a.rows)
    csv_path(a.rows, "changed")
    print(f"file: {path} ({path.stat().st_size / 1e6:.0f} MB, {a.rows:,} rows)  {machine_speed()}")
    for backend in (["sqlite", "pg"] if a.db == "both" else [a.db]):
        r = str(a.rows)
        run_phase(MODULE, "--phase", "setup", "--backend", backend, "--rows", r)
        base = run_phase(MODULE, "--phase", "baseline", "--backend", backend, "--rows", r)
        extra = ["--profile"] if a.profile else []
        first = run_phase(MODULE, "--phase", "import", "--backend", backend, "--rows", r, *extra)
        again = run_phase(MODULE, "--phase", "import", "--backend", backend, "--rows", r)
        edited = run_phase(MODULE, "--phase", "import", "--backend", backend, "--rows", r, "--variant", "changed")
        print(f"\n[{backend}] baseline (csv.reader + normalise + executemany): {base['rate']:>8,} rows/s  "
              f"{base['seconds']:7.1f} s  peak RSS {base['peak_rss_mb']:6.0f} MB")
        for label, res in (("import (all new)", first), ("re-import (same file)", again),
                           ("re-import (notes changed)", edited)):
            ratio = res["rate"] / base["rate"]
            main_mb, worker_mb = res["peak_rss_mb"], res["worker_peak_rss_mb"]
            total_mb = main_mb + worker_mb  # both peaks added: an upper bound of the pair's peak
            print(f"[{backend}] {label:<24} {res['rate']:>8,} rows/s  {res['seconds']:7.1f} s  "
                  f"peak RSS main {main_mb:4.0f} + reader {worker_mb:4.0f} = {total_mb:4.0f} MB  "
                  f"x{ratio:.2f} baseline  (target >= 0.5: {'OK' if ratio >= .5 else 'MISSED'}; "
                  f"RSS < 300 MB: {'OK' if total_mb < 300 else 'MISSED'})  "
                  f"[{res['imported']} new, {res['updated']} updated, {res['skipped']} skipped, "
                  f"{res['errors']} errors]")


if __name__ == "__main__":
    main()
