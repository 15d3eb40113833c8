"""The generator streams to disk: Parquet ledgers in chunks, one fee year of amounts cached.

SF 100 (about 100 million ledger lines) must be generated without holding it in memory: what is
held may grow with the number of people, not with months times lines. The chunked writer must
give the same rows (and, for a file within one chunk, the same bytes) as converting a whole file.
"""

from __future__ import annotations

import random

import pyarrow.parquet as pq
import pytest

from shebao.generate import generate_landing, writers
from shebao.generate.ledger import LedgerBuilder
from shebao.generate.model import build_people, build_units, ym_abs
from shebao.generate.reference import Reference

pytestmark = pytest.mark.unit
HEADER = ["a", "b"]


def test_chunked_parquet_has_every_row_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(writers, "PARQUET_CHUNK_ROWS", 4)
    rows = [[str(i), f"值{i}"] for i in range(10)]
    n = writers.write_parquet_stream(tmp_path / "x.parquet", HEADER, iter(rows))
    meta = pq.ParquetFile(tmp_path / "x.parquet").metadata
    assert n == 10 and meta.num_row_groups == 3  # 4 + 4 + 2
    assert pq.read_table(tmp_path / "x.parquet").to_pylist() == [{"a": a, "b": b} for a, b in rows]
    for count in (0, 8):  # empty, and an exact multiple of the chunk
        path = tmp_path / f"n{count}.parquet"
        assert writers.write_parquet_stream(path, HEADER, iter(rows[:count])) == count
        table = pq.read_table(path)
        assert table.num_rows == count and table.column_names == HEADER


def test_a_file_within_one_chunk_is_byte_for_byte_the_whole_file_conversion(tmp_path):
    import pyarrow as pa

    rows = [[str(i), f"值{i}"] for i in range(1000)]
    writers.write_parquet_stream(tmp_path / "stream.parquet", HEADER, iter(rows))
    columns = list(zip(*rows))
    table = pa.table({name: pa.array(list(col), pa.string()) for name, col in zip(HEADER, columns)})
    pq.write_table(table, tmp_path / "whole.parquet", compression="zstd")  # the writer before streaming
    assert (tmp_path / "stream.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()


def test_streamed_ledgers_equal_the_listed_ones(tmp_path, monkeypatch):
    args = dict(persons=40, months=("202311", "202402"), seed=5, fmt="parquet")
    whole = generate_landing(tmp_path / "whole", **args)
    monkeypatch.setattr(writers, "PARQUET_CHUNK_ROWS", 7)  # many chunks per file
    streamed = generate_landing(tmp_path / "streamed", **args)
    assert streamed["rows"] == whole["rows"] and streamed["ledger_lines"] == whole["ledger_lines"]
    for rel in whole["files"]["ledgers"]:
        a = pq.read_table(tmp_path / "whole" / rel).to_pylist()
        b = pq.read_table(tmp_path / "streamed" / rel).to_pylist()
        assert a == b and len(a) == whole["rows"][rel], rel
    assert pq.ParquetFile(tmp_path / "streamed" / whole["files"]["ledgers"][0]).metadata.num_row_groups > 1


def test_amounts_are_cached_for_one_fee_year_and_lines_counted_without_them():
    ref = Reference()
    rng = random.Random(3)
    w0, w1 = ym_abs("202311"), ym_abs("202402")
    units = build_units(rng, 30)
    people = build_people(rng, 30, units, ref, w0, w1)
    builder = LedgerBuilder(ref, units, people, random.Random("l"), w0, w1)
    months = list(range(w0, w1 + 1))
    expected = builder.expected_lines(months)
    assert builder._amounts == {}  # counting computes no amounts
    total = 0
    for month in months:
        for region in ("SZ_SIP", "SZ_CITY", "HB_PROV"):
            total += len(builder.month_rows(month, region))
            assert {year for _, _, year in builder._amounts} <= {month // 12}
    assert total == expected
