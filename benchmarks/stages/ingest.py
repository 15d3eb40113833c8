"""Stage 1: the loader's throughput per format against DuckDB reading the same file with no checks.

The same N ledger lines are written once per format with the generator's own writers
(CSV UTF-8, CSV GB18030 as Chinese Excel saves it, the employer XLSX template, Parquet).
Each repeat loads the file into a fresh warehouse file (`loader.load_source`, i.e. hash,
read, validate, quarantine check, insert, commit, close) and, as the limit, reads it
into a fresh DuckDB file with no checks:

- Parquet: ``CREATE TABLE AS SELECT * FROM read_parquet(f)``;
- CSV UTF-8: ``CREATE TABLE AS SELECT * FROM read_csv(f)`` (type sniffing, parallel reader);
- CSV GB18030: DuckDB's `encodings` extension cannot be installed offline, so the
  cheapest path is Python's GB18030 decoder, pyarrow's CSV parser, then a DuckDB insert
  from Arrow;
- XLSX: DuckDB's `excel` extension is likewise unavailable; the cheapest reader here is
  python-calamine (Rust), then Arrow, then a DuckDB insert. The loader uses calamine too,
  so this ratio isolates the loader's own work (cell-to-text conversion and validation).

Then the many-file case issue 15 names: the ledger folder of the generated SF 1 landing (102
Parquet files of about 10k lines, one per fee period and region) loaded by ``load_source`` into a
fresh warehouse, against DuckDB reading all of them in one ``read_parquet`` into a table. The
loader's cost per file (a transaction, a commit, its own scans) shows here, not in one big file.
Quick runs (``--ingest-lines`` under 100,000) skip it.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa

from benchmarks import data
from benchmarks.harness import Context, Metric, PeakRSS, StageResult, check_target, repeat, summarise

FORMATS = ("csv-utf8", "csv-gb18030", "xlsx", "parquet")
TARGET_RATIO = {"csv-utf8": 1.3, "parquet": 1.3}
MANY_FILES_SCALE = 1.0
MANY_FILES_TARGET = 2.0
MANY_FILES_MIN_LINES = 100_000  # below this, a quick run: SF 1's landing takes many minutes to generate the first time


def _place(src: Path, dst: Path) -> None:
    """A hard link (or a copy across file systems): the loader refuses symbolic links in the landing folder."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _source_rows(lines: int) -> list[list[str]]:
    """N ledger lines as text rows, taken from a generated (Parquet) landing folder."""
    import pyarrow.parquet as pq

    scale = max(0.002, round(lines / 1_000_000 * 1.15, 3))
    folder, _ = data.landing(scale, fmt="parquet")
    tables = [pq.read_table(p) for p in sorted((folder / "ledgers").glob("*.parquet"))]
    table = pa.concat_tables(tables).slice(0, lines)
    cols = [c.to_pylist() for c in table.columns]
    return [list(r) for r in zip(*cols)]


def build_files(lines: int, xlsx_lines: int) -> dict[str, Path]:
    """The four files, cached in the scratch folder."""
    from shebao.generate.core import LEDGER_EXAMPLE
    from shebao.generate.ledger import LEDGER_HEADER, MONEY_COLS
    from shebao.generate.writers import write_csv, write_parquet, write_xlsx_template

    folder = data.scratch_root() / "data" / f"ingest-{lines}-{xlsx_lines}"
    files = {
        "csv-utf8": folder / "utf8.csv",
        "csv-gb18030": folder / "gb18030.csv",
        "xlsx": folder / "template.xlsx",
        "parquet": folder / "ledger.parquet",
    }
    if (folder / ".done").exists():
        return files
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    rows = _source_rows(max(lines, xlsx_lines))
    write_csv(files["csv-utf8"], LEDGER_HEADER, rows[:lines], "utf-8")
    write_csv(files["csv-gb18030"], LEDGER_HEADER, rows[:lines], "gb18030", MONEY_COLS)
    write_xlsx_template(files["xlsx"], "缴费明细表", LEDGER_HEADER, LEDGER_EXAMPLE, rows[:xlsx_lines])
    write_parquet(files["parquet"], LEDGER_HEADER, rows[:lines])
    (folder / ".done").write_text("ok")
    return files


def _loader_once(work: Path, path: Path, expected: int) -> None:
    from pipelines.ingest import loader

    con = duckdb.connect(str(work / "warehouse.duckdb"))
    try:
        report = loader.load_source(con, work / "landing", "ledgers")
    finally:
        con.close()
    if report.rows_loaded != expected:
        raise RuntimeError(
            f"loader loaded {report.rows_loaded} of {expected} lines from {path.name}: "
            + "; ".join(report.summary_lines()[-2:])
        )


def _limit_once(work: Path, fmt: str, path: Path) -> None:
    con = duckdb.connect(str(work / "limit.duckdb"))
    try:
        if fmt == "parquet":
            con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{path}')")
        elif fmt == "csv-utf8":
            con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{path}', header = true)")
        elif fmt == "csv-gb18030":
            import pyarrow.csv as pacsv

            body = path.read_bytes().decode("gb18030").encode("utf-8")
            arrow = pacsv.read_csv(io.BytesIO(body))
            con.register("arrow_in", arrow)
            con.execute("CREATE TABLE t AS SELECT * FROM arrow_in")
        elif fmt == "xlsx":
            from python_calamine import CalamineWorkbook

            rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=False)
            header, body = rows[1], rows[4:]  # the template: title, header, example, instruction, data
            arrow = pa.table(
                {f"c{i}": pa.array([r[i] if i < len(r) else None for r in body]) for i in range(len(header))}
            )
            con.register("arrow_in", arrow)
            con.execute("CREATE TABLE t AS SELECT * FROM arrow_in")
    finally:
        con.close()


def _many_files_loader(work: Path, expected: int) -> None:
    from pipelines.ingest import loader

    con = duckdb.connect(str(work / "warehouse.duckdb"))
    try:
        report = loader.load_source(con, work / "landing", "ledgers")
    finally:
        con.close()
    if report.rows_loaded != expected:
        raise RuntimeError(f"loader loaded {report.rows_loaded} of {expected} lines: {report.summary_lines()[-1]}")


def _many_files_limit(work: Path, files: list[Path]) -> None:
    con = duckdb.connect(str(work / "limit.duckdb"))
    try:
        listed = ", ".join(f"'{p}'" for p in files)
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet([{listed}])")
    finally:
        con.close()


def run_many_files(ctx: Context, result: StageResult) -> None:
    """SF 1's ledger folder (102 Parquet files) by the loader vs one DuckDB read of all of them."""
    folder, summary = data.landing(MANY_FILES_SCALE)  # the pipeline stage's SF 1 landing: Parquet ledgers
    files = sorted((folder / "ledgers").glob("*.parquet"))
    if not files or summary.get("ledger_format") != "parquet":
        raise RuntimeError(f"{folder} holds no Parquet ledgers")
    lines = int(summary["ledger_lines"])
    work = ctx.scratch / "ingest" / "many-files"

    def fresh() -> None:
        if work.exists():
            shutil.rmtree(work)
        (work / "landing" / "ledgers").mkdir(parents=True)
        for p in files:
            _place(p, work / "landing" / "ledgers" / p.name)

    with PeakRSS() as mem:
        load = repeat(lambda: _many_files_loader(work, lines), ctx.repeats, setup=fresh)
    limit = repeat(lambda: _many_files_limit(work, files), ctx.repeats, setup=fresh)
    result.memory["loader many files"] = mem.as_dict()
    s_load, s_limit = summarise(load), summarise(limit)
    m = result.add(
        Metric(
            f"load SF {MANY_FILES_SCALE:g} ledgers ({len(files)} Parquet files, {lines:,} lines)",
            s_load["median"],
            "s",
            s_load,
            s_limit["median"],
            "DuckDB read_parquet of all files, no checks",
            s_limit,
            extra={"files": len(files), "lines_per_s": round(lines / s_load["median"])},
        )
    )
    m.note = f"{m.extra['lines_per_s']:,} lines/s over {len(files)} files"
    check_target(m, max_ratio=MANY_FILES_TARGET)


def run(ctx: Context, result: StageResult) -> None:
    lines = int(ctx.options.get("ingest_lines", 200_000))
    xlsx_lines = min(lines, int(ctx.options.get("xlsx_lines", 50_000)))
    files = build_files(lines, xlsx_lines)
    result.details["lines"] = {f: (xlsx_lines if f == "xlsx" else lines) for f in FORMATS}
    result.details["file_bytes"] = {f: p.stat().st_size for f, p in files.items()}
    formats = [f for f in FORMATS if f in ctx.options.get("formats", FORMATS)]
    for fmt in formats:
        path = files[fmt]
        n = xlsx_lines if fmt == "xlsx" else lines
        work = ctx.scratch / "ingest" / fmt

        def fresh(work: Path = work, path: Path = path) -> None:
            if work.exists():
                shutil.rmtree(work)
            (work / "landing" / "ledgers").mkdir(parents=True)
            _place(path, work / "landing" / "ledgers" / path.name)

        with PeakRSS() as mem:
            load = repeat(lambda w=work, p=path, k=n: _loader_once(w, p, k), ctx.repeats, setup=fresh)
        limit = repeat(lambda w=work, f=fmt, p=path: _limit_once(w, f, p), ctx.repeats, setup=fresh)
        result.memory[f"loader {fmt}"] = mem.as_dict()
        s_load, s_limit = summarise(load), summarise(limit)
        mb = path.stat().st_size / 1e6
        m = result.add(
            Metric(
                f"load {fmt} ({n:,} lines, {mb:.1f} MB)",
                s_load["median"],
                "s",
                s_load,
                s_limit["median"],
                "DuckDB read, no checks" if fmt in ("parquet", "csv-utf8") else "Python decode + DuckDB insert",
                s_limit,
                extra={
                    "lines_per_s": round(n / s_load["median"]),
                    "mb_per_s": round(mb / s_load["median"], 2),
                    "limit_lines_per_s": round(n / s_limit["median"]),
                    "limit_mb_per_s": round(mb / s_limit["median"], 2),
                },
            )
        )
        m.note = (
            f"{m.extra['lines_per_s']:,} lines/s, {m.extra['mb_per_s']} MB/s; limit "
            f"{m.extra['limit_lines_per_s']:,} lines/s, {m.extra['limit_mb_per_s']} MB/s"
        )
        if fmt in TARGET_RATIO:
            check_target(m, max_ratio=TARGET_RATIO[fmt])
    if lines >= MANY_FILES_MIN_LINES:  # a quick run (the smoke test's 2,000 lines) skips it
        run_many_files(ctx, result)
    else:
        result.notes.append(f"SF 1 many-files load skipped: --ingest-lines {lines:,} < {MANY_FILES_MIN_LINES:,}")
    shutil.rmtree(ctx.scratch / "ingest", ignore_errors=True)
