"""Load the landing folder into schema ``raw``: new files in batches, one transaction each (rules: see __init__)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable
from pathlib import Path

import duckdb

from foundation.landing import schema
from foundation.landing.schema import Source
from pipelines.ingest import bookkeeping
from pipelines.ingest.batch import BATCH_MAX_ROWS, Member, load_rows
from pipelines.ingest.checks import SCAN_BATCH_ROWS, cleanup
from pipelines.ingest.discovery import (
    SOURCE_ORDER,
    LandingFolderError,
    check_landing,
    content_hash,
    discover_files,
    logical_name,
    read_no_follow,
)
from pipelines.ingest.pending import release_pending
from pipelines.ingest.prefetch import Parsed, Prefetcher
from pipelines.ingest.readers import SUPPORTED_EXTENSIONS, IngestFileError, ReadResult, read_file
from pipelines.ingest.reference import Reference, read_reference
from pipelines.ingest.report import (
    STATUS_ALREADY,
    STATUS_EMPTY,
    STATUS_FAILED,
    STATUS_LOADED,
    STATUS_REPLACED,
    FileReport,
    SourceReport,
)
from pipelines.ingest.sql import transaction
from pipelines.ingest.tables import ensure_raw_schema

__all__ = [
    "SCAN_BATCH_ROWS",
    "SOURCE_ORDER",
    "STATUS_ALREADY",
    "STATUS_EMPTY",
    "STATUS_FAILED",
    "STATUS_LOADED",
    "STATUS_REPLACED",
    "FileReport",
    "LandingFolderError",
    "SourceReport",
    "check_landing",
    "discover_files",
    "ensure_raw_schema",
    "load_landing",
    "load_source",
    "logical_name",
    "schema",
]

log = logging.getLogger(__name__)


class _Loader:
    """Loads the files of one source: new files in batches (one transaction each), the others one by one."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        landing_dir: Path,
        source: Source,
        reference: Reference,
        batched: bool = True,
    ):
        self.con = con
        self.batched = batched
        self.landing_dir = Path(landing_dir)
        self.source = source
        self.reference = reference
        self.known = bookkeeping.KnownFiles(con, source.name)
        self.batch: list[Member] = []  # read, waiting to be loaded together
        self.prefetch: Prefetcher | None = None  # reads made ahead on worker threads
        self.replaced: list[str] = []  # files the last correction superseded

    def _write_load_file(self, rep: FileReport, now: dt.datetime) -> None:
        self.known.invalidate()
        bookkeeping.write_load_file(self.con, self.source.name, rep, now)

    def _record_failure(self, rep: FileReport, now: dt.datetime) -> None:
        if rep.file_hash is None or bookkeeping.failed_the_same_way(self.con, rep):
            return
        with transaction(self.con):
            self._write_load_file(rep, now)

    def add(self, path: Path, rel: str) -> FileReport:
        """Settle the file at once, or read it into the batch; the report is complete once flush() ran."""
        logical, version = logical_name(rel)
        rep = FileReport(
            source=self.source.name,
            file=rel,
            file_hash=None,
            status=STATUS_FAILED,
            logical_name=logical,
            version=version,
        )
        ahead = self.prefetch.take(rel) if self.prefetch else None
        if version > 1:  # a correction supersedes what came before it, so it sees every earlier file loaded
            self.flush()
        now = dt.datetime.now().replace(microsecond=0)
        if path.is_symlink():
            rep.error = _symlink_refused(path, rel)
            return rep
        try:
            data = read_no_follow(path)
        except OSError as exc:
            rep.error = f"文件 {rel} 无法读取：{exc}"
            return rep
        rep.file_hash = content_hash(data)
        if any(m.rep.file_hash == rep.file_hash for m in self.batch):
            self.flush()  # a second copy of a batch file is judged against that file's outcome
        if self._already_known(rep, now):
            return rep
        rep.load_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"
        try:
            result = self._read_new(path, rep, data, now, ahead)
        except IngestFileError as exc:
            self._fail(rep, str(exc), now)
            return rep
        except Exception as exc:  # a bug: fail this file, keep loading the others
            log.exception("reading %s failed", rel)
            self._fail(rep, _internal_error(rel, exc), now)
            return rep
        if result is None:
            return rep
        member = Member(rep, result)
        if self.batch and (
            member.signature() != self.batch[0].signature()
            or sum(m.rows for m in self.batch) + member.rows > BATCH_MAX_ROWS
        ):
            self.flush()
        self.batch.append(member)
        if version > 1 or not self.batched:
            self.flush()
        return rep

    def _fail(self, rep: FileReport, error: str, now: dt.datetime) -> None:
        rep.status, rep.error = STATUS_FAILED, error
        rep.rows_read = rep.rows_loaded = rep.rows_quarantined = rep.rows_skipped = rep.rows_held = 0
        rep.reasons = {}
        rep.replaced_by = None
        self._record_failure(rep, now)

    def _already_known(self, rep: FileReport, now: dt.datetime) -> bool:
        """Content loaded before (under this or another name) is not loaded again."""
        assert rep.file_hash is not None
        known = self.known.content(rep.file_hash)
        same_name = [k for k in known if k[0] == rep.file and k[1] != STATUS_FAILED]
        if same_name:
            status = same_name[0][1]
            rep.status = status if status in (STATUS_REPLACED, STATUS_EMPTY) else STATUS_ALREADY
            rep.replaced_by = same_name[0][2]
            rep.error = same_name[0][3] if status == STATUS_EMPTY else None
            return True
        # A header-only file carries no rows, so the same bytes under another name say nothing
        # about duplicates: each such file stands on its own (a correction still supersedes).
        other = [k for k in known if k[0] != rep.file and k[1] not in (STATUS_FAILED, STATUS_EMPTY)]
        if other:
            rep.status = STATUS_ALREADY
            rep.note = f"same content as {other[0][0]}, not loaded again"
            rep.load_id = None
            with transaction(self.con):
                self._write_load_file(rep, now)
            return True
        return False

    def _read_new(
        self, path: Path, rep: FileReport, data: bytes, now: dt.datetime, ahead: Parsed | None
    ) -> ReadResult | None:
        """Read a file not seen before; None when settled already (no bytes); IngestFileError when it cannot load."""
        if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            read_file(path, rep.file, self.source, data)  # raises the Chinese "unsupported format" error
        assert rep.logical_name is not None
        newer = self.known.newer_loaded(rep.logical_name, rep.version)
        if newer:
            raise IngestFileError(
                f"文件 {rep.file} 是 {rep.logical_name} 的第{rep.version}版，"
                f"但已加载更新的第{newer[1]}版（{newer[0]}），本文件未加载"
            )
        if not data.strip() or data.strip() == b"\xef\xbb\xbf":
            rep.status, rep.error = STATUS_EMPTY, f"文件 {rep.file} 是空文件：没有表头，也没有数据行，未加载任何记录"
            with transaction(self.con):
                self._write_load_file(rep, now)
            return None
        if ahead is None or ahead[0] != rep.file_hash:  # not read ahead, or from other bytes
            return read_file(path, rep.file, self.source, data)
        _, result, error = ahead
        if error is not None:
            raise error
        return result

    def parse(self, path: Path, rel: str, data: bytes) -> ReadResult:
        return read_file(path, rel, self.source, data)

    def flush(self) -> None:
        """Load the waiting files in one transaction; if that fails, each on its own so no good file is lost."""
        members, self.batch = self.batch, []
        if members:
            self._load_batch(members)

    def _load_batch(self, members: list[Member]) -> None:
        now = dt.datetime.now().replace(microsecond=0)
        self.known.invalidate()  # a correction rewrites earlier rows; a rollback undoes what was written
        self.replaced = []
        tables = [m.result.table for m in members]
        try:
            with transaction(self.con):
                replaced = (
                    bookkeeping.supersede(self.con, self.source, members[0].rep, now) if len(members) == 1 else []
                )
                load_rows(self.con, self.source, self.reference, members, now)
                for m in members:
                    m.rep.status = STATUS_LOADED
                    if m.rep.rows_read == 0:
                        m.rep.status = STATUS_EMPTY
                        m.rep.error = f"文件 {m.rep.file} 只有表头，没有数据行，未加载任何记录"
                    self._write_load_file(m.rep, now)
            self.replaced = replaced
        except Exception as exc:  # a database problem or a bug: no file of the batch is loaded
            if len(members) > 1:
                log.warning("loading %d files together failed (%s); loading them one by one", len(members), exc)
                for m, table in zip(members, tables):
                    m.result.table = table
                    m.rep.error = None
                    self._load_batch([m])
                return
            rep = members[0].rep
            log.exception("loading %s failed", rep.file)
            error = str(exc) if isinstance(exc, IngestFileError) else _internal_error(rep.file, exc)
            self._fail(rep, error, now)
        finally:
            self.known.invalidate()
            cleanup(self.con)


def _internal_error(rel: str, exc: Exception) -> str:
    return f"文件 {rel} 加载失败（内部错误：{type(exc).__name__}: {exc}），整个文件未加载"


def _symlink_refused(path: Path, rel: str) -> str:
    kind = "文件夹" if path.is_dir() else "文件"
    return (
        f"{kind} {rel} 是符号链接，为安全起见不读取它指向的内容（不跟随任何链接）；"
        f"请把{kind}本身而不是链接放入落地目录，未加载"
    )


def _with_progress(files: list[tuple[Path, str]], source: str, progress: bool) -> Iterable[tuple[Path, str]]:
    if not progress:
        return files
    from tqdm import tqdm

    return tqdm(files, desc=f"loading {source}", unit="file")


def load_source(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, source: str, *, progress: bool = False, batched: bool = True
) -> SourceReport:
    """Load every new file of landing/<source>/ (see the package docstring for the rules).

    batched=False loads each file in its own transaction: the same outcome, slower (tests compare the two).
    """
    if source not in schema.SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCE_ORDER)}")
    ensure_raw_schema(con)
    loader = _Loader(con, Path(landing_dir), schema.SOURCES[source], read_reference(), batched)
    report = SourceReport(source=source)
    with transaction(con):  # rows held earlier whose person or unit has arrived since
        report.rows_released = release_pending(con, loader.source, dt.datetime.now().replace(microsecond=0))
    files = discover_files(Path(landing_dir), source)
    by_file: dict[str, FileReport] = {}
    # Row order on disk carries no meaning (source_row keeps the file's order), so let
    # DuckDB insert in parallel; the caller's setting is restored afterwards.
    setting = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()
    order_setting = setting[0] if setting else True
    con.execute("SET preserve_insertion_order = false")
    known = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT file_hash FROM raw.load_files WHERE source = ? AND status <> ? AND file_hash IS NOT NULL",
            [source, STATUS_FAILED],
        ).fetchall()
    }
    loader.prefetch = Prefetcher(files, known, loader.parse).start()
    try:
        for path, rel in _with_progress(files, source, progress):
            rep = loader.add(path, rel)
            for old in loader.replaced:
                if old in by_file:  # loaded earlier in this same run, now superseded
                    by_file[old].status = STATUS_REPLACED
                    by_file[old].replaced_by = rep.file
            loader.replaced = []
            by_file[rel] = rep
            report.files.append(rep)
        loader.flush()
    finally:
        loader.prefetch.close()
        con.execute(f"SET preserve_insertion_order = {'true' if order_setting else 'false'}")
    return report


def load_landing(
    con: duckdb.DuckDBPyConnection, landing_dir: Path, *, progress: bool = False, batched: bool = True
) -> dict[str, SourceReport]:
    """All four sources in dependency order: employers, persons, enrolments, ledgers.

    A landing folder with nothing to load raises LandingFolderError (Chinese, naming the folder).
    """
    check_landing(Path(landing_dir))
    return {
        source: load_source(con, landing_dir, source, progress=progress, batched=batched) for source in SOURCE_ORDER
    }
