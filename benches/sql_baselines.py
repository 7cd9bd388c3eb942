"""The analytics benchmark's questions asked of DuckDB (in process) and SQLite, on the CSV files
`cargo bench --bench analytics` writes from the very record the server loads.

Usage: python3 benches/sql_baselines.py DIR   (DIR holds projects.csv, lines.csv,
observations.csv). Prints one JSON object per engine and question: median and 99th percentile
in milliseconds, and the answer's total so the caller can check all engines agree.
"""

import csv
import json
import sqlite3
import sys
import time
from decimal import Decimal
from types import SimpleNamespace
from pathlib import Path

import duckdb

YEARS = (2015, 2020)

SUMMARY = """
SELECT p.party, p.field, SUM(l.amount) AS amount, COUNT(DISTINCT p.name) AS projects,
       COUNT(*) AS lines
FROM lines l JOIN projects p ON p.name = l.project
WHERE l.year BETWEEN ? AND ? AND l.funding_type = 'expenditure' {extra}
GROUP BY p.party, p.field
ORDER BY amount DESC
"""

SERIES = """
SELECT period, value,
       value / LAG(value) OVER (ORDER BY period) - 1 AS year_on_year,
       value * 100 / FIRST_VALUE(value) OVER (ORDER BY period) AS index_value
FROM observations
WHERE indicator = ? AND area = ?
ORDER BY period
"""


def questions(title_match):
    """(name, sql, parameters) for each question, in the dialect's spelling of a substring."""
    return [
        ("summary", SUMMARY.format(extra=""), YEARS),
        ("summary_title", SUMMARY.format(extra=f"AND p.title {title_match} '%water%'"), YEARS),
        ("series", SERIES, ("indicators/scale-indicator-0", "areas/aksu")),
    ]


def measure(run, iterations):
    samples = []
    answer = None
    for _ in range(iterations):
        started = time.perf_counter()
        answer = run()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return samples[len(samples) // 2], p99, answer


def total_of(name, rows):
    if name == "series":
        return str(len(rows))
    return str(sum((Decimal(row[2]) for row in rows), Decimal(0)))


def report(engine, connection, title_match, iterations):
    for name, sql, parameters in questions(title_match):
        count = iterations if name == "series" else max(5, iterations // 10)
        p50, p99, rows = measure(lambda: connection.execute(sql, parameters).fetchall(), count)
        print(json.dumps({"engine": engine, "question": name, "p50_ms": p50, "p99_ms": p99,
                          "total": total_of(name, rows)}), flush=True)


def duckdb_connection(directory):
    connection = duckdb.connect()
    connection.execute(
        f"CREATE TABLE projects AS SELECT * FROM read_csv('{directory}/projects.csv', header=true, "
        "columns={'name': 'VARCHAR', 'title': 'VARCHAR', 'party': 'VARCHAR', 'field': 'VARCHAR'})")
    connection.execute(
        f"CREATE TABLE lines AS SELECT * FROM read_csv('{directory}/lines.csv', header=true, "
        "columns={'project': 'VARCHAR', 'funding_type': 'VARCHAR', 'year': 'INTEGER', "
        "'amount': 'DECIMAL(38,2)'})")
    connection.execute(
        f"CREATE TABLE observations AS SELECT * FROM read_csv('{directory}/observations.csv', "
        "header=true, columns={'indicator': 'VARCHAR', 'area': 'VARCHAR', 'period': 'VARCHAR', "
        "'value': 'DECIMAL(38,4)'})")
    return connection


def sqlite_connection(directory):
    path = Path(directory) / "baseline.sqlite"
    path.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    connection.executescript("""
        CREATE TABLE projects (name TEXT PRIMARY KEY, title TEXT, party TEXT, field TEXT);
        CREATE TABLE lines (project TEXT, funding_type TEXT, year INTEGER, amount INTEGER);
        CREATE TABLE observations (indicator TEXT, area TEXT, period TEXT, value REAL);
    """)
    for table, columns in [("projects", 4), ("lines", 4), ("observations", 4)]:
        with open(Path(directory) / f"{table}.csv", newline="") as f:
            rows = csv.reader(f)
            next(rows)
            if table == "lines":
                # Exact sums: amounts are stored in cents, as integers.
                rows = ((p, t, int(y), round(float(a) * 100)) for p, t, y, a in rows)
            connection.executemany(
                f"INSERT INTO {table} VALUES ({', '.join('?' * columns)})", rows)
    connection.executescript("""
        CREATE INDEX lines_by_year ON lines (year, funding_type, project);
        CREATE INDEX observations_by_series ON observations (indicator, area, period);
        ANALYZE;
    """)
    connection.commit()
    return connection


class Cents:
    """SQLite sums amounts exactly in integer cents; answer in yuan like the others."""

    def __init__(self, connection):
        self.connection = connection

    def execute(self, sql, parameters):
        cursor = self.connection.execute(sql, parameters)
        if "SUM(l.amount)" not in sql:
            return cursor
        rows = [(a, b, Decimal(c).scaleb(-2), d, e) for a, b, c, d, e in cursor.fetchall()]
        return SimpleNamespace(fetchall=lambda: rows)


def main():
    directory = sys.argv[1]
    iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    report("duckdb", duckdb_connection(directory), "ILIKE", iterations)
    report("sqlite", Cents(sqlite_connection(directory)), "LIKE", iterations)


if __name__ == "__main__":
    main()
