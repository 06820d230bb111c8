"""A full X-source run with a recognisable fake token: it must appear nowhere it could leak."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from pipeline import extract, validate
from pipeline.sources.x_api import XApiSource
from pipeline.warehouse import connect
from tests.sources.conftest import MAYA, TOKEN

DAY = date(2026, 2, 20)
AFTER_DAY = datetime(2026, 2, 21, 0, 5, tzinfo=UTC)
# Besides the whole token, a distinctive slice of it: a partial leak (a truncated header, a
# token cut at a width) counts too.
NEEDLES = (TOKEN, TOKEN[-20:])


def _occurrences(text: str) -> int:
    return sum(text.count(needle) for needle in NEEDLES)


def test_the_token_leaks_into_no_log_output_file_or_table(
    x_api, x_settings, caplog, capsys, record
):
    caplog.set_level(logging.DEBUG)
    x_api.graph()
    x_api.tweets("tweets_1", start_time="2026-02-14T00:05:00Z")
    x_api.tweets("tweets_2", pagination_token="TWEETS_P2", start_time="2026-02-14T00:05:00Z")
    x_api.search("replies_1")
    x_api.search("replies_2", next_token="b26v89c19zqg8o3fr5qdxbbyzn")

    source = XApiSource(MAYA, x_settings, clock=lambda: AFTER_DAY)
    extract.extract_graph(MAYA, DAY, x_settings, source)
    # The graph extract consumed the profile recording; the timeline reads the profile again.
    x_api.user()
    extract.extract_timeline(MAYA, DAY, x_settings, source)
    results = validate.validate_day(MAYA, DAY, x_settings)
    assert all(r.success for r in results)
    con = connect(x_settings)
    try:
        loaded = validate.load_validated(con, MAYA, DAY, x_settings)
        assert loaded.rows["followers"] == 5
        text_columns = con.execute(
            """SELECT schema_name, table_name, column_name FROM duckdb_columns()
               WHERE data_type = 'VARCHAR' AND database_name = current_database()"""
        ).fetchall()
        in_tables = sum(
            con.execute(
                f'SELECT count(*) FROM {schema}.{table} WHERE contains("{column}", ?) '
                f'OR contains("{column}", ?)',
                list(NEEDLES),
            ).fetchone()[0]
            for schema, table, column in text_columns
        )
    finally:
        con.close()

    files = [p for p in x_settings.data_dir.rglob("*") if p.is_file()]
    # Landing Parquet, manifests, checkpoints, validation.json, GX Data Docs and the DuckDB file.
    assert any(p.suffix == ".html" for p in files), "no Data Docs were rendered to search"
    assert any(p.suffix == ".duckdb" for p in files)
    in_files = sum(_occurrences(p.read_bytes().decode("latin-1")) for p in files)
    captured = capsys.readouterr()
    in_logs = _occurrences(caplog.text) + _occurrences(captured.out + captured.err)

    leaked = in_tables + in_files + in_logs
    record(secrets_leaked=leaked)
    assert (in_tables, in_files, in_logs) == (0, 0, 0)
    # The search would have found it: requests carried it, and the log shows the redacted form.
    assert all(
        call.request.headers["Authorization"] == f"Bearer {TOKEN}" for call in x_api.mock.calls
    )
