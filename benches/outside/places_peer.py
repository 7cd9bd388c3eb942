"""The places benchmark's lookups asked of DuckDB and SQLite in process, on the same keys the
server indexes for `cargo bench --bench places`' synthetic counties (a display name, a Chinese
and a Uyghur-Latin name and a code each, folded to lower case as the server folds them), with
an index on the key. Queries spread over the counties as the bench spreads them.

Usage: python3 benches/outside/places_peer.py COUNTIES CALLS
Prints one line per engine and question: p50 and p99 in milliseconds.
"""

import sqlite3
import sys
import time

import duckdb


def keys(counties):
    for i in range(counties):
        place = f"areas/bench-{i:06}"
        yield (f"bench county {i}", place)
        yield (f"基准县{i}", place)
        yield (f"bench nahiyisi {i}", place)
        yield (f"{900000 + i}", place)


def queries(counties, calls, make):
    n = 0
    for _ in range(calls):
        n = (n * 7919 + 13) % counties
        yield make(n)


QUESTIONS = [
    ("a code, whole", "SELECT place FROM places WHERE key = ?", lambda i: (f"{900000 + i}",)),
    ("a Chinese name, whole", "SELECT place FROM places WHERE key = ?", lambda i: (f"基准县{i}",)),
    ("a Uyghur name in Latin script, other case", "SELECT place FROM places WHERE key = ?",
     lambda i: (f"BENCH NAHIYISI {i}".lower(),)),
    ("the beginning of names (20 matches)",
     "SELECT place FROM places WHERE key >= ? AND key < ? ORDER BY key LIMIT 20",
     lambda i: (f"bench county {i % 1000}", f"bench county {i % 1000}\uffff")),
]


def timed(run, counties, calls, make):
    samples = []
    for args in queries(counties, calls, make):
        started = time.perf_counter()
        found = run(args)
        samples.append((time.perf_counter() - started) * 1e3)
        assert found, args
    samples.sort()
    return samples[len(samples) // 2], samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def main():
    counties, calls = int(sys.argv[1]), int(sys.argv[2])
    rows = list(keys(counties))
    lite = sqlite3.connect(":memory:")
    lite.execute("CREATE TABLE places (key TEXT, place TEXT)")
    lite.executemany("INSERT INTO places VALUES (?, ?)", rows)
    lite.execute("CREATE INDEX places_by_key ON places (key)")
    duck = duckdb.connect()
    duck.execute("SET threads TO 2")
    # The same rows, made in DuckDB (inserting them one by one from Python takes minutes).
    duck.execute(f"""
        CREATE TABLE places AS
        WITH counties AS (SELECT i, printf('areas/bench-%06d', i) AS place FROM range({counties}) t(i))
        SELECT 'bench county ' || i AS key, place FROM counties
        UNION ALL SELECT '基准县' || i, place FROM counties
        UNION ALL SELECT 'bench nahiyisi ' || i, place FROM counties
        UNION ALL SELECT CAST(900000 + i AS VARCHAR), place FROM counties""")
    assert duck.execute("SELECT count(*) FROM places").fetchone()[0] == len(rows)
    duck.execute("CREATE INDEX places_by_key ON places (key)")
    for label, sql, make in QUESTIONS:
        p50, p99 = timed(lambda a: duck.execute(sql, a).fetchall(), counties, calls, make)
        print(f"DuckDB | {label} | {p50:.3f} / {p99:.3f}")
        p50, p99 = timed(lambda a: lite.execute(sql, a).fetchall(), counties, calls, make)
        print(f"SQLite | {label} | {p50:.3f} / {p99:.3f}")


main()
