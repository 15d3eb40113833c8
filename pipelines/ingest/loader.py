"""Load the landing folder into schema ``raw`` of the warehouse, quarantining bad rows.

One call of :func:`load_source` loads every new file of one landing sub-folder
(``employers``, ``persons``, ``enrolments``, ``ledgers``; sub-folders inside it are
walked too). Conventions, in the order a user meets them:

Files
    CSV (UTF-8 with or without BOM, else GB18030, which covers GBK), XLSX (first
    sheet) and Parquet. Hidden files and Excel lock files (``~$…``) are ignored; any
    other extension fails as a file. The header row is the first of the first 30 rows
    with at least two recognised headers (Chinese label, alias or canonical English
    name of schema.py; blanks, ``*`` marks and a trailing unit such as ``(元)`` are
    ignored); title rows above it are skipped; unknown columns are ignored. A missing
    required column fails the whole file.

Rows and counts
    Row numbers are what a spreadsheet shows (the CSV header is row 1; Parquet has no
    header row, so row N is the N-th record). Rows whose recognised cells are all empty
    are blank and not counted. Every other row is *read*, and ends exactly one of:
    *skipped* (employer-template rows: instruction rows such as
    "以上一行填写示例请从下一行开始按示例填写", 填写说明/说明：/注：/合计 rows, rows
    marked 示例, and the example row(s) above an "以上…示例" line), *loaded*, or
    *quarantined*. So per file ``rows_read = rows_loaded + rows_quarantined +
    rows_skipped``; raw.load_files and the reports carry the four figures.

Quarantine
    A row is quarantined for hard errors only (soft findings such as amount vs base x
    rate are dbt's and GX's job). raw.quarantine gets ONE row per quarantined input
    row: ``field``/``value`` name the first failing field (schema order), and
    ``reason`` lists ALL failing fields of the row, e.g.
    「文件 ledgers/a.csv 第17行 字段“证件号码”(id_number)：证件号码校验位错误（应为X），值为“320…”」,
    further fields appended after "；". A duplicate is only looked for when the row
    has no other error (the natural key of schema.py against non-superseded loaded
    rows and earlier valid rows of the same file; the first one wins). ``record``
    is the row as read (cells trimmed, empty cells null), as JSON keyed by the file's own
    headers. ``FileReport.reasons`` counts quarantined rows by
    ``"<field>：<problem>"`` of their first failure (so it sums to rows_quarantined).

Idempotency
    A file is identified by the SHA-256 of its bytes. Content already loaded for this
    source (under any name) is not loaded again: status ``already_loaded``, counts 0.
    The same content under a second name is recorded once in raw.load_files as
    ``already_loaded`` with nothing loaded (rather than quarantining every row as a
    duplicate). A file that failed is retried on the next run (a code or template fix
    may let it load); re-running changes nothing when nothing changed.

Corrections
    ``<stem>.v<N>.<ext>`` is version N of the logical file ``<stem>.<ext>`` (same
    folder; a name without the suffix is version 1). Loading version N marks every
    loaded row of earlier versions superseded (``superseded_at`` set, in the raw table
    and in raw.quarantine; nothing is deleted), marks their raw.load_files rows
    ``replaced`` (``replaced_by`` = the new file), then loads its own rows; duplicate
    detection ignores superseded rows. A file without the suffix never replaces
    anything. A version older than one already loaded fails as a file.

Transactions
    One transaction per file: a file that fails leaves nothing behind but its
    ``failed`` row in raw.load_files (Chinese error naming the file).

Speed
    Rows are validated in DuckDB SQL over the Arrow table: one pass types every row
    (cheap exact casts first, the strict patterns only for text the cast did not
    settle) and marks it ok or not; the Chinese reasons are built for the failed rows
    only; the insert types the rows again straight from the input, leaving out the
    failed, duplicate and template rows by number. Duplicates are found by a hash of
    the natural key and confirmed on the key; against loaded rows only the file's own
    periods are searched, so a file costs the same however much history is loaded.
    The Python ID/USCC check functions run once per DISTINCT value and are joined
    back. Rows are inserted with ``preserve_insertion_order = false`` (in parallel;
    ``source_row`` keeps the file order); the caller's setting is restored.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import logging
import re
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from foundation.landing import identifiers, schema
from foundation.landing.schema import Column, Source, raw_column_name, raw_columns
from pipelines.ingest.readers import SUPPORTED_EXTENSIONS, IngestFileError, read_file

log = logging.getLogger(__name__)

SOURCE_ORDER = ("employers", "persons", "enrolments", "ledgers")
REFERENCE_DIR = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "reference"

STATUS_LOADED = "loaded"
STATUS_ALREADY = "already_loaded"
STATUS_FAILED = "failed"
STATUS_REPLACED = "replaced"

PERIOD_COLUMNS = {"fee_period", "start_period", "end_period"}
VOCABULARIES: dict[tuple[str | None, str], tuple[str, ...]] = {
    (None, "contribution_type"): schema.CONTRIBUTION_TYPES,
    (None, "paid_status"): schema.PAID_STATUSES,
    (None, "sex"): schema.SEXES,
    (None, "post_category"): schema.POST_CATEGORIES,
    (None, "unit_type"): schema.UNIT_TYPES,
    ("enrolments", "status"): schema.ENROLMENT_STATUSES,
}
INT_RANGES = {"risk_class": (1, 8)}
RESIDENT_ID_SPELLINGS = (
    "身份证",
    "居民身份证(户口簿)",
    "居民身份证（户口簿）",
    "居民身份证(户口薄)",
    "居民身份证（户口薄）",
)
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")

SEP = "\x1f"
INSTRUCTION_RE = (
    r"以上.{0,8}示例|填写说明|请从下一行开始|不要删除示例|(^|\x1f)\s*(说明|注|填表说明)\s*[:：]|(^|\x1f)\s*合\s*计"
)
ABOVE_EXAMPLE_RE = r"以上.{0,8}示例"
EXAMPLE_MARK_RE = r"(^|\x1f)\s*[（(【\[]?\s*(填写)?示例(行|数据)?\s*[）)】\]]?\s*([:：][^\x1f]*)?(\x1f|$)"
EXAMPLE_LEAD_ROWS = 4  # an "以上…示例" line this close to the header marks every row above it

VERSION_RE = re.compile(r"^(?P<stem>.+)\.v(?P<n>\d+)\.(?P<ext>[A-Za-z0-9]+)$", re.IGNORECASE)


# --------------------------------------------------------------------------- reports


@dataclass
class FileReport:
    source: str
    file: str  # relative to the landing folder, "/" separated
    file_hash: str | None
    status: str  # loaded | already_loaded | failed | replaced
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_skipped: int = 0
    error: str | None = None  # Chinese, when failed
    reasons: dict[str, int] = field(default_factory=dict)  # "<field>：<category>" of each quarantined row
    logical_name: str | None = None
    version: int = 1
    load_id: str | None = None
    replaced_by: str | None = None
    note: str | None = None  # English remark for the CLI (e.g. same content as another file)

    def summary_line(self) -> str:
        head = f"{self.file}: {self.status}"
        if self.status == STATUS_FAILED:
            return f"{head} - {self.error}"
        counts = (
            f"read {self.rows_read}, loaded {self.rows_loaded}, quarantined {self.rows_quarantined}, "
            f"skipped template rows {self.rows_skipped}"
        )
        extra = []
        if self.replaced_by:
            extra.append(f"replaced by {self.replaced_by}")
        if self.note:
            extra.append(self.note)
        return f"{head} - {counts}" + (f" ({'; '.join(extra)})" if extra else "")


@dataclass
class SourceReport:
    source: str
    files: list[FileReport] = field(default_factory=list)

    def _sum(self, attr: str) -> int:
        return sum(getattr(f, attr) for f in self.files)

    @property
    def rows_read(self) -> int:
        return self._sum("rows_read")

    @property
    def rows_loaded(self) -> int:
        return self._sum("rows_loaded")

    @property
    def rows_quarantined(self) -> int:
        return self._sum("rows_quarantined")

    @property
    def rows_skipped(self) -> int:
        return self._sum("rows_skipped")

    def count_status(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def reasons(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.files:
            for k, v in f.reasons.items():
                out[k] = out.get(k, 0) + v
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    def to_metadata(self) -> dict:
        return {
            "source": self.source,
            "files_seen": len(self.files),
            "files_loaded": self.count_status(STATUS_LOADED),
            "files_already_loaded": self.count_status(STATUS_ALREADY),
            "files_replaced": self.count_status(STATUS_REPLACED),
            "files_failed": self.count_status(STATUS_FAILED),
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "rows_skipped": self.rows_skipped,
            "quarantine_reasons": self.reasons,
            "failed_files": [{"file": f.file, "error": f.error} for f in self.files if f.status == STATUS_FAILED],
            "file_reports": [{k: v for k, v in asdict(f).items() if k not in ("source",)} for f in self.files],
        }

    def summary_lines(self) -> list[str]:
        lines = [f.summary_line() for f in self.files]
        lines.append(
            f"{self.source} total: {len(self.files)} files ({self.count_status(STATUS_LOADED)} loaded, "
            f"{self.count_status(STATUS_ALREADY)} already loaded, {self.count_status(STATUS_REPLACED)} replaced, "
            f"{self.count_status(STATUS_FAILED)} failed); read {self.rows_read}, loaded {self.rows_loaded}, "
            f"quarantined {self.rows_quarantined}, skipped template rows {self.rows_skipped}"
        )
        return lines


# --------------------------------------------------------------------------- schema


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema raw with the four source tables, raw.quarantine and raw.load_files."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for source in schema.SOURCES.values():
        cols = ", ".join(f"{name} {dtype}" for name, dtype in raw_columns(source))
        con.execute(f"CREATE TABLE IF NOT EXISTS {source.table} ({cols})")
    con.execute(
        """CREATE TABLE IF NOT EXISTS raw.quarantine (
            source VARCHAR, source_file VARCHAR, source_row INTEGER, file_hash VARCHAR, load_id VARCHAR,
            field VARCHAR, value VARCHAR, reason VARCHAR, record VARCHAR, quarantined_at TIMESTAMP,
            superseded_at TIMESTAMP)"""
    )
    con.execute(
        """CREATE TABLE IF NOT EXISTS raw.load_files (
            file_hash VARCHAR, source VARCHAR, source_file VARCHAR, logical_name VARCHAR, version INTEGER,
            status VARCHAR, rows_read INTEGER, rows_loaded INTEGER, rows_quarantined INTEGER,
            rows_skipped INTEGER, error VARCHAR, load_id VARCHAR, loaded_at TIMESTAMP, replaced_by VARCHAR)"""
    )


# --------------------------------------------------------------------------- helpers


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _lits(values) -> str:
    return ", ".join(_lit(v) for v in values)


def logical_name(rel: str) -> tuple[str, int]:
    """('ledgers/a.csv', 2) for 'ledgers/a.v2.csv'; a name without the suffix is version 1."""
    folder, _, name = rel.rpartition("/")
    m = VERSION_RE.match(name)
    if m and int(m.group("n")) >= 1:
        base = f"{m.group('stem')}.{m.group('ext')}"
        return (f"{folder}/{base}" if folder else base), int(m.group("n"))
    return rel, 1


def discover_files(landing_dir: Path, source: str) -> list[tuple[Path, str]]:
    folder = Path(landing_dir) / source
    if not folder.is_dir():
        return []
    found = []
    for path in folder.rglob("*"):
        rel_parts = path.relative_to(folder).parts
        if any(p.startswith(".") for p in rel_parts) or path.name.startswith("~$") or not path.is_file():
            continue
        found.append((path, path.relative_to(landing_dir).as_posix()))

    def order(item):
        logical, version = logical_name(item[1])
        return logical, version, item[1]

    return sorted(found, key=order)


def _read_reference() -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[str]]:
    """(insurance key -> code, region key -> code, region names) from the dbt seeds."""
    ins: dict[str, str] = {}
    with open(REFERENCE_DIR / "insurance_types.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code = row["insurance_type"].strip()
            for key in (code, row["insurance_name"], row["insurance_short_name"]):
                ins.setdefault(key.strip().upper(), code)
    regions: dict[str, str] = {}
    names = []
    with open(REFERENCE_DIR / "regions.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            code = row["region_code"].strip()
            names.append(row["region_name"].strip())
            for key in (code, row["region_name"]):
                regions.setdefault(key.strip().upper(), code)
    return sorted(ins.items()), sorted(regions.items()), names


def _lookup_sql(expr: str, pairs: list[tuple[str, str]]) -> str:
    """Map upper(expr) through a short reference list inline: a join would hash the whole file."""
    if not pairs:
        return "CAST(NULL AS VARCHAR)"
    return f"CASE upper({expr}) " + " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in pairs) + " END"


# --------------------------------------------------------------------------- SQL


def _clean(expr: str) -> str:
    """Cells arrive trimmed with empty as NULL (readers.clean_table); nothing left to do in SQL."""
    return expr


def _resident_sql() -> str:
    return "(id_type IS NULL OR id_type IN (" + _lits(("居民身份证",) + RESIDENT_ID_SPELLINGS) + "))"


def _typed_sql(source: Source, col: Column, valid: bool = False) -> str:
    """The typed value, or NULL when the text is not valid.

    Money, periods and dates first try a cheap exact cast (TRY_CAST plus a shape or
    round-trip test, so only text the strict pattern accepts passes); the regular
    expressions run only on the rows the cast did not settle (DuckDB evaluates a CASE
    branch only for the rows that reach it).
    """
    c = col.name
    if c == "id_type":
        return (
            f"CASE WHEN id_type IS NULL OR id_type IN ({_lits(RESIDENT_ID_SPELLINGS)}) "
            f"THEN {_lit(schema.DEFAULT_ID_TYPE)} ELSE id_type END"
        )
    if c in ("id_number", "uscc"):
        return f"upper({c})"
    if c == "region":
        return "__region_code"
    if c == "insurance_type":
        return "__insurance_code"
    if c in PERIOD_COLUMNS:
        # six characters with a value 195001-209912 are six digits; then only the month is left to test
        n = f"TRY_CAST({c} AS INTEGER)"
        p = f"CASE WHEN regexp_full_match({c}, '\\d{{4}}[-/.]\\d{{2}}') THEN substr({c}, 1, 4) || substr({c}, 6, 2) ELSE {c} END"
        return (
            f"CASE WHEN length({c}) = 6 AND {n} BETWEEN 195001 AND 209912 AND {n} % 100 BETWEEN 1 AND 12 THEN {c} "
            f"WHEN regexp_full_match({p}, '(19[5-9]\\d|20\\d\\d)(0[1-9]|1[0-2])') THEN {p} END"
        )
    if col.dtype == "INTEGER":
        return f"CASE WHEN regexp_full_match({c}, '[+]?\\d{{1,9}}') THEN CAST({c} AS INTEGER) END"
    if col.dtype.startswith("DECIMAL") and valid:
        # text that passed the strict patterns below casts to the same value once its commas are
        # gone; the only valid text with a minus is a zero ("-", "-0.00")
        return (
            f"CASE WHEN starts_with({c}, '-') THEN CAST(0 AS {col.dtype}) "
            f"WHEN contains({c}, ',') THEN CAST(replace({c}, ',', '') AS {col.dtype}) "
            f"ELSE CAST({c} AS {col.dtype}) END"
        )
    if col.dtype.startswith("DECIMAL"):
        # canonical text ("8890.00") round-trips through the cast exactly; anything else takes the strict patterns
        d = f"TRY_CAST({c} AS {col.dtype})"
        m = f"replace({c}, ',', '')"
        return (
            f"CASE WHEN CAST({d} AS VARCHAR) = {c} AND NOT starts_with({c}, '-') THEN {d} "
            f"WHEN regexp_full_match({m}, '[+]?(\\d{{1,16}}(\\.\\d{{0,2}}0*)?|\\.\\d{{1,2}}0*)') "
            f"THEN CAST({m} AS {col.dtype}) "
            f"WHEN regexp_full_match({m}, '-(0*(\\.0*)?)') THEN CAST(0 AS {col.dtype}) END"
        )
    if col.dtype == "DATE":
        return (
            f"CASE WHEN length({c}) = 10 AND substr({c}, 5, 1) = '-' AND substr({c}, 8, 1) = '-' "
            f"AND TRY_CAST({c} AS DATE) IS NOT NULL THEN TRY_CAST({c} AS DATE) "
            f"ELSE CAST(try_strptime({c}, [{_lits(DATE_FORMATS)}]) AS DATE) END"
        )
    return c


def _error_branches(source: Source, col: Column, region_names: list[str]) -> tuple[list[tuple[str, str]], str | None]:
    """(WHEN condition, Chinese problem) pairs of this field in schema order, and a cheap test that none holds.

    The problem text is only built for rows that failed (see _validate_and_insert); the
    cheap test (NULL when the field has no check) decides which rows those are.
    """
    c, t = col.name, f"t_{col.name}"
    branches = []
    ok = []
    if not col.nullable:
        branches.append((f"{c} IS NULL", _lit("必填字段为空")))
        ok.append(f"{c} IS NOT NULL")
    if c == "id_number":
        branches.append(("__resident AND __id_problem IS NOT NULL", "__id_problem"))
        ok.append("(__id_problem IS NULL OR NOT __resident)")
    elif c == "uscc":
        branches.append(("__uscc_problem IS NOT NULL", "__uscc_problem"))
        ok.append("__uscc_problem IS NULL")
    elif c == "region":
        branches.append(
            (f"{c} IS NOT NULL AND {t} IS NULL", _lit("未知的参保地（应为" + "、".join(region_names) + "或其代码）"))
        )
    elif c == "insurance_type":
        branches.append(
            (f"{c} IS NOT NULL AND {t} IS NULL", _lit("未知的险种类型（应为险种代码或险种名称，见险种代码表）"))
        )
    elif c in PERIOD_COLUMNS:
        branches.append((f"{c} IS NOT NULL AND {t} IS NULL", _lit("年月无效（应为YYYYMM格式，月份为01-12）")))
    elif col.dtype == "INTEGER":
        branches.append((f"{c} IS NOT NULL AND {t} IS NULL", _lit("不是有效的整数")))
        if c in INT_RANGES:
            lo, hi = INT_RANGES[c]
            branches.append((f"{t} NOT BETWEEN {lo} AND {hi}", _lit(f"应为{lo}-{hi}之间的整数")))
            ok.append(f"coalesce({t} BETWEEN {lo} AND {hi}, true)")
    elif col.dtype.startswith("DECIMAL"):
        m = f"replace({c}, ',', '')"
        branches += [
            (
                f"{c} IS NOT NULL AND {t} IS NULL AND NOT regexp_full_match({m}, '[+-]?(\\d+(\\.\\d*)?|\\.\\d+)')",
                _lit("不是有效的数字"),
            ),
            (f"{c} IS NOT NULL AND {t} IS NULL AND starts_with({m}, '-')", _lit("不能为负数")),
            (
                f"{c} IS NOT NULL AND {t} IS NULL AND regexp_matches({m}, '\\.\\d{{2}}0*[1-9]')",
                _lit("金额最多保留两位小数"),
            ),
            (f"{c} IS NOT NULL AND {t} IS NULL", _lit("数值超出范围")),
        ]
    elif col.dtype == "DATE":
        branches.append((f"{c} IS NOT NULL AND {t} IS NULL", _lit("不是有效的日期（应为YYYY-MM-DD）")))
    if (
        c in PERIOD_COLUMNS
        or col.dtype in ("INTEGER", "DATE")
        or col.dtype.startswith("DECIMAL")
        or c in ("region", "insurance_type")
    ):
        ok.append(f"({c} IS NULL OR {t} IS NOT NULL)")
    vocab = VOCABULARIES.get((source.name, c)) or VOCABULARIES.get((None, c))
    if vocab:
        branches.append(
            (
                f"{c} IS NOT NULL AND {c} NOT IN ({_lits(vocab)})",
                _lit("不在允许的取值范围内（应为" + "、".join(vocab) + "）"),
            )
        )
        ok.append(f"({c} IS NULL OR {c} IN ({_lits(vocab)}))")
    if source.name == "persons" and c == "birth_date":
        cond = (
            f"{t} IS NOT NULL AND __resident AND __id_problem IS NULL AND __id_birth IS NOT NULL AND __id_birth <> {t}"
        )
        branches.append((cond, "'出生日期与证件号码不一致（证件号码中为' || strftime(__id_birth, '%Y-%m-%d') || '）'"))
        ok.append(f"({cond}) IS NOT TRUE")
    return branches, (" AND ".join(ok) if ok else None)


def _error_sql(source: Source, col: Column, region_names: list[str]) -> str:
    """CASE yielding the Chinese problem of this field (without file/row prefix), or NULL."""
    branches, _ = _error_branches(source, col, region_names)
    if not branches:
        return "CAST(NULL AS VARCHAR)"
    return "CASE " + " ".join(f"WHEN {cond} THEN {msg}" for cond, msg in branches) + " END"


def _category_sql(expr: str) -> str:
    return f"regexp_replace({expr}, '[（，].*$', '')"


# --------------------------------------------------------------------------- loading one file

SCAN_BATCH_ROWS = 122_880  # DuckDB's row-group size: each full batch is written by its thread before COMMIT


def _in_batches(table: pa.Table) -> pa.Table:
    """The same rows in record batches of SCAN_BATCH_ROWS: DuckDB scans one Arrow batch per
    thread, so a file read as one big chunk would be typed and inserted on one core (smaller
    batches leave partial row groups that COMMIT has to write instead)."""
    if table.num_rows <= SCAN_BATCH_ROWS:
        return table
    return pa.Table.from_batches(table.to_batches(max_chunksize=SCAN_BATCH_ROWS), table.schema)


class _Loader:
    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        landing_dir: Path,
        source: Source,
        region_names: list[str],
        reference: tuple[list[tuple[str, str]], list[tuple[str, str]]],
    ):
        self.con = con
        self.reference = reference  # (insurance key -> code, region key -> code)
        self.landing_dir = Path(landing_dir)
        self.source = source
        self.region_names = region_names

    # ---- load_files bookkeeping
    def _known(self, file_hash: str) -> list[tuple]:
        return self.con.execute(
            "SELECT source_file, status, replaced_by FROM raw.load_files WHERE source = ? AND file_hash = ? ORDER BY loaded_at",
            [self.source.name, file_hash],
        ).fetchall()

    def _write_load_file(self, rep: FileReport, now: dt.datetime) -> None:
        exists = self.con.execute(
            "SELECT count(*) FROM raw.load_files WHERE file_hash = ? AND source_file = ?", [rep.file_hash, rep.file]
        ).fetchone()[0]
        values = [
            rep.logical_name,
            rep.version,
            rep.status,
            rep.rows_read,
            rep.rows_loaded,
            rep.rows_quarantined,
            rep.rows_skipped,
            rep.error,
            rep.load_id,
            now,
            rep.replaced_by,
        ]
        if exists:
            self.con.execute(
                """UPDATE raw.load_files SET logical_name = ?, version = ?, status = ?, rows_read = ?, rows_loaded = ?,
                   rows_quarantined = ?, rows_skipped = ?, error = ?, load_id = ?, loaded_at = ?, replaced_by = ?
                   WHERE file_hash = ? AND source_file = ?""",
                values + [rep.file_hash, rep.file],
            )
        else:
            self.con.execute(
                """INSERT INTO raw.load_files (logical_name, version, status, rows_read, rows_loaded, rows_quarantined,
                   rows_skipped, error, load_id, loaded_at, replaced_by, file_hash, source, source_file)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                values + [rep.file_hash, self.source.name, rep.file],
            )

    def _record_failure(self, rep: FileReport, now: dt.datetime) -> None:
        if rep.file_hash is None:
            return
        prior = self.con.execute(
            "SELECT status, error FROM raw.load_files WHERE file_hash = ? AND source_file = ?",
            [rep.file_hash, rep.file],
        ).fetchone()
        if prior == (STATUS_FAILED, rep.error):
            return  # same content failed the same way before: nothing changes
        self.con.execute("BEGIN TRANSACTION")
        try:
            self._write_load_file(rep, now)
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise

    # ---- the file
    def load(self, path: Path, rel: str) -> FileReport:
        logical, version = logical_name(rel)
        rep = FileReport(
            source=self.source.name,
            file=rel,
            file_hash=None,
            status=STATUS_FAILED,
            logical_name=logical,
            version=version,
        )
        self.replaced: list[str] = []
        now = dt.datetime.now().replace(microsecond=0)
        try:
            data = path.read_bytes()
        except OSError as exc:
            rep.error = f"文件 {rel} 无法读取：{exc}"
            return rep
        rep.file_hash = hashlib.sha256(data).hexdigest()

        known = self._known(rep.file_hash)
        same_name = [k for k in known if k[0] == rel and k[1] != STATUS_FAILED]
        if same_name:
            rep.status = STATUS_REPLACED if same_name[0][1] == STATUS_REPLACED else STATUS_ALREADY
            rep.replaced_by = same_name[0][2]
            return rep
        other = [k for k in known if k[0] != rel and k[1] != STATUS_FAILED]
        if other:
            rep.status = STATUS_ALREADY
            rep.note = f"same content as {other[0][0]}, not loaded again"
            rep.load_id = None
            self.con.execute("BEGIN TRANSACTION")
            try:
                self._write_load_file(rep, now)
                self.con.execute("COMMIT")
            except Exception:
                self.con.execute("ROLLBACK")
                raise
            return rep

        rep.load_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"
        try:
            if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
                read_file(path, rel, self.source, data)  # raises the Chinese "unsupported format" error
            newer = self.con.execute(
                """SELECT source_file, version FROM raw.load_files WHERE source = ? AND logical_name = ?
                   AND version > ? AND status = 'loaded' ORDER BY version DESC LIMIT 1""",
                [self.source.name, logical, version],
            ).fetchone()
            if newer:
                raise IngestFileError(
                    f"文件 {rel} 是 {logical} 的第{version}版，但已加载更新的第{newer[1]}版（{newer[0]}），本文件未加载"
                )
            result = read_file(path, rel, self.source, data)
            del data
            self.con.execute("BEGIN TRANSACTION")
            try:
                replaced = self._supersede(rep, now)
                self._validate_and_insert(rep, result, now)
                rep.status = STATUS_LOADED
                self._write_load_file(rep, now)
                self.con.execute("COMMIT")
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            finally:
                self._cleanup()
            self.replaced = replaced
            return rep
        except IngestFileError as exc:
            rep.error = str(exc)
        except Exception as exc:  # a bug or a database problem: fail this file, keep loading the others
            log.exception("loading %s failed", rel)
            rep.error = f"文件 {rel} 加载失败（内部错误：{type(exc).__name__}: {exc}），整个文件未加载"
        rep.status = STATUS_FAILED
        rep.rows_read = rep.rows_loaded = rep.rows_quarantined = rep.rows_skipped = 0
        rep.reasons = {}
        rep.replaced_by = None
        self._record_failure(rep, now)
        return rep

    def _supersede(self, rep: FileReport, now: dt.datetime) -> list[str]:
        if rep.version < 2:
            return []
        earlier = [
            r[0]
            for r in self.con.execute(
                """SELECT source_file FROM raw.load_files WHERE source = ? AND logical_name = ? AND version < ?
               AND status = 'loaded'""",
                [self.source.name, rep.logical_name, rep.version],
            ).fetchall()
        ]
        if not earlier:
            return []
        marks = ", ".join("?" for _ in earlier)
        self.con.execute(
            f"UPDATE {self.source.table} SET superseded_at = ? WHERE superseded_at IS NULL AND source_file IN ({marks})",
            [now, *earlier],
        )
        self.con.execute(
            f"UPDATE raw.quarantine SET superseded_at = ? WHERE superseded_at IS NULL AND source = ? AND source_file IN ({marks})",
            [now, self.source.name, *earlier],
        )
        self.con.execute(
            f"UPDATE raw.load_files SET status = 'replaced', replaced_by = ? WHERE source = ? AND status = 'loaded' "
            f"AND source_file IN ({marks})",
            [rep.file, self.source.name, *earlier],
        )
        return earlier

    _TEMP_TABLES = (
        "_ingest_checked",
        "_ingest_tpl",
        "_ingest_skip",
        "_ingest_dupgrp",
        "_ingest_dups",
        "_ingest_qrows",
        "_ingest_quarantine",
        "_ingest_exclude",
    )
    _VIEWS = ("_ingest_input", "_ingest_idp", "_ingest_usccp")

    def _cleanup(self) -> None:
        for name in self._VIEWS:
            try:
                self.con.unregister(name)
            except Exception:
                pass
        for name in self._TEMP_TABLES:
            self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def _problem_table(self, name: str, sql: str, check, with_birth: bool) -> None:
        """Run a Python identifier check once per distinct value; keep the problems (and ID birth dates)."""
        values = [r[0] for r in self.con.execute(sql).fetchall()]
        problems, births, keys = [], [], []
        for v in values:
            p = check(v)
            if p is None and not with_birth:
                continue
            keys.append(v)
            problems.append(p)
            births.append(identifiers.id_birth_date(v) if with_birth and p is None else None)
        self.con.register(
            name,
            pa.table(
                {
                    "v": pa.array(keys, pa.string()),
                    "problem": pa.array(problems, pa.string()),
                    "birth": pa.array(births, pa.date32()),
                }
            ),
        )

    ROW_LIST_MAX = 2_000

    def _row_filter(self, test: str, table: str) -> str | None:
        """`__row [NOT] IN (...)` over the rows of a small table, or None when it is empty.

        A short literal list is pushed into the Arrow scan, so only those rows are typed;
        longer lists use the table itself.
        """
        n = self._count(f"SELECT count(*) FROM {table}")
        if n == 0:
            return None
        if n <= self.ROW_LIST_MAX:
            rows = [r[0] for r in self.con.execute(f"SELECT __row FROM {table} ORDER BY 1").fetchall()]
            return f"{test} ({', '.join(str(int(r)) for r in rows)})"
        return f"{test} (SELECT __row FROM {table})"

    def _count(self, sql: str) -> int:
        return int(self.con.execute(sql).fetchone()[0])

    def _validate_and_insert(self, rep: FileReport, result, now: dt.datetime) -> None:
        """Type, check, classify and insert one file's rows; all set-based SQL (see module docstring).

        One pass types every row and decides ok / not ok with cheap tests; the Chinese
        reasons are built afterwards for the (few) failing rows only.
        """
        con, src = self.con, self.source
        cols = list(src.columns)
        names = [c.name for c in cols]
        present = set(result.table.column_names)
        con.register("_ingest_input", _in_batches(result.table))

        def cleaned(c: str, alias: str = "") -> str:
            return _clean(f"{alias}{c}") if c in present else "CAST(NULL AS VARCHAR)"

        # 1. identifier checks, once per distinct value
        has_id, has_uscc = "id_number" in names, "uscc" in names
        if has_id:
            resident = _resident_sql().replace("id_type", cleaned("id_type"))
            self._problem_table(
                "_ingest_idp",
                f"SELECT DISTINCT upper({cleaned('id_number')}) AS v FROM _ingest_input WHERE v IS NOT NULL AND {resident}",
                identifiers.id_number_problem,
                with_birth=(src.name == "persons"),
            )
        if has_uscc:
            self._problem_table(
                "_ingest_usccp",
                f"SELECT DISTINCT upper({cleaned('uscc')}) AS v FROM _ingest_input WHERE v IS NOT NULL",
                identifiers.uscc_problem,
                with_birth=False,
            )

        # 2. one pass: drop blank rows, type, ok or not (the reasons come later, for failed rows only)
        joins, extras = [], []
        if "insurance_type" in names:
            extras.append(f"{_lookup_sql('b.insurance_type', self.reference[0])} AS __insurance_code")
        if "region" in names:
            extras.append(f"{_lookup_sql('b.region', self.reference[1])} AS __region_code")
        if has_id:
            joins.append("LEFT JOIN _ingest_idp ip ON ip.v = upper(b.id_number)")
            extras += [
                "ip.problem AS __id_problem",
                "ip.birth AS __id_birth",
                f"{_resident_sql().replace('id_type', 'b.id_type')} AS __resident",
            ]
        if has_uscc:
            joins.append("LEFT JOIN _ingest_usccp up ON up.v = upper(b.uscc)")
            extras.append("up.problem AS __uscc_problem")
        any_value = " OR ".join(f"{c} IS NOT NULL" for c in names)
        template_text = f"regexp_matches(__extra, {_lit(INSTRUCTION_RE + '|' + EXAMPLE_MARK_RE)})"
        key = list(src.natural_key)
        tkey = ", ".join(f"t_{k}" for k in key)
        checks = {c.name: _error_branches(src, c, self.region_names) for c in cols}
        checked = [c for c in names if checks[c][0]]
        ok = " AND ".join(f"({checks[c][1]})" for c in names if checks[c][1]) or "true"

        def typed(rows: str = "true", valid: bool = False) -> str:
            """The file's non-blank rows (those matching `rows`): input text, typed values, ok.

            valid=True: the rows are known to pass every check, so money needs no strict test.
            """
            return f"""(
                WITH b0 AS (
                    SELECT __row, {_clean("__extra")} AS __extra, {", ".join(f"{cleaned(c)} AS {c}" for c in names)}
                    FROM _ingest_input WHERE {rows}
                ), b AS (
                    SELECT * FROM b0 WHERE ({any_value}) OR (__extra IS NOT NULL AND {template_text})
                ), j AS (
                    SELECT {", ".join(["b.*"] + extras)} FROM b {" ".join(joins)}
                ), t AS (
                    SELECT *, {", ".join(f"{_typed_sql(src, c, valid)} AS t_{c.name}" for c in cols)} FROM j
                )
                SELECT *, ({ok}) AS __ok FROM t
            )"""

        # Only what classifying and duplicate detection need is kept (the key's short strings);
        # the insert below types the rows again straight from the input instead of copying
        # a wide intermediate table.
        con.execute(f"""
            CREATE TEMP TABLE _ingest_checked AS
            SELECT __row, __extra, __ok, {tkey}, hash({tkey}) AS __key_hash FROM {typed()}
        """)

        # 3. employer-template rows: only rows with a problem or unrecognised cells can be one
        self._classify_template_rows(names, present)
        has_skips = self._count("SELECT count(*) FROM _ingest_skip") > 0
        not_skipped = "NOT EXISTS (SELECT 1 FROM _ingest_skip k WHERE k.__row = c.__row)" if has_skips else "true"

        # 4. duplicates among valid rows: earlier rows of this file, then live loaded rows
        raw_key = [raw_column_name(src.column(k)) for k in key]
        # a hash of the key finds the candidates cheaply; the exact key confirms them
        con.execute(f"""
            CREATE TEMP TABLE _ingest_dupgrp AS
            SELECT {tkey}, min(__row) AS __first_row FROM _ingest_checked c
            WHERE __ok AND {not_skipped} AND __key_hash IN (
                SELECT __key_hash FROM _ingest_checked c WHERE __ok AND {not_skipped}
                GROUP BY __key_hash HAVING count(*) > 1)
            GROUP BY ALL HAVING count(*) > 1
        """)
        has_grp = self._count("SELECT count(*) FROM _ingest_dupgrp") > 0
        on_grp = " AND ".join(f"g.t_{k} = c.t_{k}" for k in key)
        on_raw = " AND ".join(f"x.{rk} = c.t_{k}" for k, rk in zip(key, raw_key))
        # only the loaded rows of this file's own periods can collide: the check does not grow with history
        period = next((k for k in key if k in PERIOD_COLUMNS), None)
        live = "x.superseded_at IS NULL"
        if period is not None:
            periods = [
                r[0]
                for r in con.execute(
                    f"SELECT DISTINCT t_{period} FROM _ingest_checked WHERE __ok AND t_{period} IS NOT NULL"
                ).fetchall()
            ]
            live += f" AND x.{period} IN ({_lits(periods)})" if periods else " AND false"
        has_live = con.execute(f"SELECT 1 FROM {src.table} x WHERE {live} LIMIT 1").fetchone() is not None
        parts = []
        if has_grp:
            parts.append(f"""
                SELECT c.__row, g.__first_row, NULL AS __dup_file, NULL AS __dup_row
                FROM _ingest_checked c JOIN _ingest_dupgrp g ON {on_grp}
                WHERE c.__ok AND c.__row <> g.__first_row AND {not_skipped}""")
        if has_live:
            parts.append(f"""
                SELECT c.__row, NULL, x.source_file, x.source_row
                FROM _ingest_checked c JOIN {src.table} x ON {on_raw} AND {live}
                WHERE c.__ok AND {not_skipped}""")
        if not parts:  # nothing can collide: an empty table of the same shape
            parts.append("SELECT NULL::INTEGER, NULL::INTEGER, NULL::VARCHAR, NULL::INTEGER WHERE false")
        con.execute(f"""
            CREATE TEMP TABLE _ingest_dups AS
            SELECT __row, max(__first_row) AS __first_row, max(__dup_file) AS __dup_file, max(__dup_row) AS __dup_row
            FROM ({" UNION ALL ".join(parts)}) AS u(__row, __first_row, __dup_file, __dup_row) GROUP BY __row
        """)

        # 5. quarantined rows: one per input row, every failing field in the reason
        rel, fhash, load_id = _lit(rep.file), _lit(rep.file_hash), _lit(rep.load_id)
        ts = f"TIMESTAMP {_lit(now.isoformat(sep=' '))}"
        labels = {c.name: c.label for c in cols}
        value_of = {c: f"c.{c}" for c in names}  # the input text, joined in below
        segments = [
            f"CASE WHEN e_{c} IS NOT NULL THEN '字段“{labels[c]}”({c})：' || e_{c} "
            f"|| coalesce('，值为“' || {value_of[c]} || '”', '') END"
            for c in checked
        ]
        key_labels = "、".join(labels[k] for k in key)
        key_value = " || '|' || ".join(f"coalesce(c.t_{k}, '')" for k in key)
        dup_msg = (
            f"CASE WHEN c.__dup_file IS NOT NULL THEN '重复记录：自然键（{key_labels}）与已加载的文件 ' || c.__dup_file "
            f"|| ' 第' || c.__dup_row || '行相同，值为“' || {key_value} || '”' "
            f"WHEN c.__dup IS NOT NULL THEN '重复记录：自然键（{key_labels}）与本文件第' || c.__first_row "
            f"|| '行相同，值为“' || {key_value} || '”' END"
        )
        reason = f"'文件 ' || {rel} || ' 第' || c.__row || '行 ' || concat_ws('；', {', '.join(segments + [dup_msg])})"

        def first(expr_for) -> str:
            return "CASE " + " ".join(f"WHEN e_{c} IS NOT NULL THEN {expr_for(c)}" for c in checked)

        field_sql = first(_lit) + f" ELSE {_lit(','.join(key))} END"
        value_sql = first(lambda c: value_of[c]) + f" ELSE {key_value} END"
        category_sql = (
            first(lambda c: f"'{c}：' || {_category_sql('e_' + c)}")
            + " WHEN c.__dup_file IS NOT NULL THEN '自然键：与已加载记录重复' ELSE '自然键：与本文件前面的行重复' END"
        )
        record = (
            "CAST(json_object("
            + ", ".join(f"{_lit(result.headers.get(c, c))}, c.{c}" for c in names if c in present)
            + ") AS VARCHAR)"
        )
        con.execute(f"""
            CREATE TEMP TABLE _ingest_qrows AS
            SELECT c.__row, d.__row AS __dup, d.__first_row, d.__dup_file, d.__dup_row
            FROM _ingest_checked c LEFT JOIN _ingest_dups d ON d.__row = c.__row
            WHERE {not_skipped} AND (NOT c.__ok OR d.__row IS NOT NULL)
        """)
        # the reasons, for the failed rows only: the input text beside the typed values
        errors = ", ".join(f"{_error_sql(src, src.column(c), self.region_names)} AS e_{c}" for c in checked)
        quarantined = self._row_filter("__row IN", "_ingest_qrows")
        if quarantined is None:
            con.execute("""CREATE TEMP TABLE _ingest_quarantine (__row INTEGER, field VARCHAR, value VARCHAR,
                           reason VARCHAR, category VARCHAR, record VARCHAR)""")
        else:
            con.execute(f"""
                CREATE TEMP TABLE _ingest_quarantine AS
                WITH e AS (
                    SELECT c.*, q.__dup, q.__first_row, q.__dup_file, q.__dup_row, {errors}
                    FROM {typed(quarantined)} c JOIN _ingest_qrows q ON q.__row = c.__row
                )
                SELECT c.__row, {field_sql} AS field, {value_sql} AS value, {reason} AS reason,
                       {category_sql} AS category, {record} AS record
                FROM e c
            """)
            con.execute(f"""
                INSERT INTO raw.quarantine
                SELECT {_lit(src.name)}, {rel}, __row, {fhash}, {load_id}, field, value, reason, record, {ts}, NULL
                FROM _ingest_quarantine ORDER BY __row
            """)

        # 6. loaded rows: every non-blank row that is neither quarantined nor skipped. The rows are
        # typed again straight from the input; excluding the (few) known rows by number rather
        # than re-testing every row keeps the checks out of this scan.
        target = ", ".join([raw_column_name(c) for c in cols] + [n for n, _ in schema.LINEAGE_COLUMNS])
        values = ", ".join([f"t_{c}" for c in names] + [rel, "__row", fhash, load_id, ts, "NULL"])
        con.execute("""
            CREATE TEMP TABLE _ingest_exclude AS
            SELECT __row FROM _ingest_qrows UNION SELECT __row FROM _ingest_skip
        """)
        rows = self._row_filter("__row NOT IN", "_ingest_exclude") or "true"
        loaded = con.execute(
            f"INSERT INTO {src.table} ({target}) SELECT {values} FROM {typed(rows, valid=True)} c"
        ).fetchone()[0]

        # 7. counts: read = loaded + quarantined + skipped
        rep.rows_read = self._count("SELECT count(*) FROM _ingest_checked")
        rep.rows_skipped = self._count("SELECT count(*) FROM _ingest_skip")
        rep.rows_loaded = int(loaded)
        rep.reasons = {
            k: int(v)
            for k, v in con.execute(
                "SELECT category, count(*) FROM _ingest_quarantine GROUP BY 1 ORDER BY 2 DESC, 1"
            ).fetchall()
        }
        rep.rows_quarantined = sum(rep.reasons.values())
        if rep.rows_read != rep.rows_loaded + rep.rows_quarantined + rep.rows_skipped:
            raise RuntimeError(f"row reconciliation failed for {rep.file}")

    def _classify_template_rows(self, names: list[str], present: set[str]) -> None:
        """_ingest_skip(__row, kind): instruction rows, rows marked 示例, example rows above "以上…示例".

        Template rows always carry text in an unrecognised column (序号) or fail a check
        (an instruction line leaves the required cells empty), so only those rows are
        searched; clean machine exports pay nothing.
        """
        con = self.con
        text = (
            "concat_ws(chr(31), " + ", ".join([_clean(f"i.{c}") for c in names if c in present] + ["c.__extra"]) + ")"
        )
        con.execute(f"""
            CREATE TEMP TABLE _ingest_tpl AS
            SELECT __row, regexp_matches(txt, {_lit(INSTRUCTION_RE)}) AS instr,
                   regexp_matches(txt, {_lit(ABOVE_EXAMPLE_RE)}) AS above,
                   regexp_matches(txt, {_lit(EXAMPLE_MARK_RE)}) AS mark
            FROM (SELECT c.__row, {text} AS txt FROM _ingest_checked c JOIN _ingest_input i ON i.__row = c.__row
                  WHERE NOT c.__ok OR c.__extra IS NOT NULL)
            WHERE instr OR mark
        """)
        con.execute("CREATE TEMP TABLE _ingest_skip (__row INTEGER, kind VARCHAR)")
        if self._count("SELECT count(*) FROM _ingest_tpl") == 0:
            return
        first_above = con.execute("SELECT min(__row) FROM _ingest_tpl WHERE above").fetchone()[0]
        lead_rows = "false"
        if first_above is not None:
            rank = self._count(f"SELECT count(*) FROM _ingest_checked WHERE __row < {int(first_above)}")
            if rank < EXAMPLE_LEAD_ROWS:  # the line is among the first rows: everything above it is example
                lead_rows = f"c.__row < {int(first_above)}"
        con.execute(f"""
            INSERT INTO _ingest_skip
            SELECT __row, min(kind) FROM (
                SELECT __row, 'example' AS kind FROM _ingest_tpl WHERE mark AND NOT instr
                UNION ALL
                SELECT __row, 'instruction' FROM _ingest_tpl WHERE instr
                UNION ALL
                SELECT p.__row, 'example' FROM (SELECT __row FROM _ingest_tpl WHERE above) a
                    ASOF JOIN _ingest_checked p ON a.__row > p.__row
                UNION ALL
                SELECT c.__row, 'example' FROM _ingest_checked c WHERE {lead_rows}
            ) GROUP BY __row
        """)
        # an instruction row is never an example, whatever lies below it
        con.execute("""
            UPDATE _ingest_skip SET kind = 'instruction'
            WHERE __row IN (SELECT __row FROM _ingest_tpl WHERE instr)
        """)


# --------------------------------------------------------------------------- public API


def load_source(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, source: str, *, progress: bool = False
) -> SourceReport:
    """Load every new file of landing/<source>/ (see the module docstring for the rules)."""
    if source not in schema.SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCE_ORDER)}")
    ensure_raw_schema(con)
    ins, regions, region_names = _read_reference()
    loader = _Loader(con, Path(landing_dir), schema.SOURCES[source], region_names, (ins, regions))
    report = SourceReport(source=source)
    files = discover_files(Path(landing_dir), source)
    iterator = files
    if progress:
        from tqdm import tqdm

        iterator = tqdm(files, desc=f"loading {source}", unit="file")
    by_file: dict[str, FileReport] = {}
    # Row order on disk carries no meaning (source_row keeps the file's order), so let
    # DuckDB insert in parallel; the caller's setting is restored afterwards.
    order_setting = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    con.execute("SET preserve_insertion_order = false")
    try:
        for path, rel in iterator:
            rep = loader.load(path, rel)
            for old in loader.replaced:
                if old in by_file:  # loaded earlier in this same run, now superseded
                    by_file[old].status = STATUS_REPLACED
                    by_file[old].replaced_by = rep.file
            by_file[rel] = rep
            report.files.append(rep)
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if order_setting else 'false'}")
    return report


def load_landing(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, *, progress: bool = False
) -> dict[str, SourceReport]:
    """All four sources in dependency order: employers, persons, enrolments, ledgers."""
    return {source: load_source(con, landing_dir, source, progress=progress) for source in SOURCE_ORDER}
