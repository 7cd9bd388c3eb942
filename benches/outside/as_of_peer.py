"""The history benchmark's past summary asked of DuckDB (in process, 2 threads): funding by
party x field, 2015-2020, of the record as it stood at a revision. DuckDB holds every version
of every project's funding lines with the revisions it stood at (`valid_from` up to, not
including, `valid_to`), as a warehouse keeps history; `cargo bench --bench history` writes that
table from the very record and commits the server holds.

Usage: python3 benches/outside/as_of_peer.py VERSIONS_CSV CALLS REVISION...
Prints one JSON object per revision: median and 99th percentile in milliseconds, and the total
in yuan, so the caller can check DuckDB and the server agree to the cent.
"""

import json
import sys
from decimal import Decimal
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sql_baselines import YEARS, measure  # noqa: E402

SUMMARY_AT = """
SELECT party, field, SUM(amount) AS amount, COUNT(DISTINCT project) AS projects,
       COUNT(*) AS lines
FROM versions
WHERE valid_from <= $revision AND $revision < valid_to
  AND year BETWEEN $start AND $end AND funding_type = 'expenditure'
GROUP BY party, field
ORDER BY amount DESC
"""


def main():
    path, calls, revisions = sys.argv[1], int(sys.argv[2]), [int(r) for r in sys.argv[3:]]
    connection = duckdb.connect()
    connection.execute("SET threads = 2")
    connection.execute(
        f"CREATE TABLE versions AS SELECT * FROM read_csv('{path}', header=true, columns={{"
        "'project': 'VARCHAR', 'party': 'VARCHAR', 'field': 'VARCHAR', "
        "'funding_type': 'VARCHAR', 'year': 'INTEGER', 'amount': 'DECIMAL(38,2)', "
        "'valid_from': 'BIGINT', 'valid_to': 'BIGINT'})")
    for revision in revisions:
        parameters = {"revision": revision, "start": YEARS[0], "end": YEARS[1]}
        p50, p99, rows = measure(
            lambda: connection.execute(SUMMARY_AT, parameters).fetchall(), calls)
        total = sum((Decimal(row[2]) for row in rows), Decimal(0))
        print(json.dumps({"revision": revision, "p50_ms": p50, "p99_ms": p99,
                          "total": str(total)}), flush=True)


if __name__ == "__main__":
    main()
