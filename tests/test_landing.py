from datetime import date

import duckdb
import pyarrow as pa
import pytest

from pipeline import landing

DAY = date(2026, 1, 5)


def manifest(kind="followers", day=DAY):
    return landing.Manifest(
        account="acct",
        account_id="1",
        snapshot_date=day.isoformat(),
        kind=kind,
        source="simulated",
        row_count=0,
        expected_count=3,
    )


def ids(*values):
    return pa.table({"user_id": pa.array([str(v) for v in values], pa.string())})


def test_rerun_replaces_only_its_own_partition(tmp_path):
    landing.write_partition(tmp_path, ids(1, 2, 3), manifest(), landing.SCHEMAS["followers"])
    landing.write_partition(
        tmp_path, ids(7), manifest(day=date(2026, 1, 6)), landing.SCHEMAS["followers"]
    )
    landing.write_partition(tmp_path, ids(1, 2), manifest(), landing.SCHEMAS["followers"])
    assert landing.read_partition(tmp_path, "followers", "acct", DAY)["user_id"].tolist() == [
        "1",
        "2",
    ]
    assert landing.read_manifest(tmp_path, "followers", "acct", DAY).row_count == 2
    other = landing.read_partition(tmp_path, "followers", "acct", date(2026, 1, 6))
    assert other["user_id"].tolist() == ["7"]
    # No temporary files are left behind.
    assert sorted(
        p.name for p in landing.partition_dir(tmp_path, "followers", "acct", DAY).iterdir()
    ) == [
        "data.parquet",
        "manifest.json",
    ]


def test_failed_write_leaves_no_manifest(tmp_path, monkeypatch):
    landing.write_partition(tmp_path, ids(1, 2, 3), manifest(), landing.SCHEMAS["followers"])

    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(landing.pq, "write_table", disk_full)
    with pytest.raises(OSError, match="No space left"):
        landing.write_partition(tmp_path, ids(4), manifest(), landing.SCHEMAS["followers"])
    # The interrupted rerun withdrew the old manifest, so the partition reads as unfinished,
    # and the old data file is untouched (the new one never replaced it).
    assert landing.read_manifest(tmp_path, "followers", "acct", DAY) is None
    assert landing.read_partition(tmp_path, "followers", "acct", DAY)["user_id"].tolist() == [
        "1",
        "2",
        "3",
    ]
    assert not list(landing.partition_dir(tmp_path, "followers", "acct", DAY).glob("*.tmp"))


def test_a_list_loads_into_full_duckdb_row_groups_but_its_last(tmp_path):
    # Longer than pyarrow's default Parquet row group (2^20 rows), which split the tail in two.
    followers = 1_100_000
    path = landing.write_partition(
        tmp_path, ids(*range(followers)), manifest(), landing.SCHEMAS["followers"]
    )
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("SET threads = 2")
    con.execute(
        "CREATE TABLE followers AS SELECT CAST(user_id AS BIGINT) AS id FROM read_parquet(?)",
        [str(path)],
    )
    row_groups = con.execute(
        "SELECT count FROM pragma_storage_info('followers') "
        "WHERE column_id = 0 AND segment_type <> 'VALIDITY' ORDER BY row_group_id"
    ).fetchall()
    assert [count for (count,) in row_groups] == [122_880] * 8 + [116_960]
