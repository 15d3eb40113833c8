"""What a load did, per file and per source: the figures raw.load_files, the CLI and Dagster show."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STATUS_LOADED = "loaded"
STATUS_ALREADY = "already_loaded"
STATUS_FAILED = "failed"
STATUS_REPLACED = "replaced"
STATUS_EMPTY = "empty"  # header only (or no bytes at all): nothing to load, and the user is told so


@dataclass
class FileReport:
    source: str
    file: str  # relative to the landing folder, "/" separated
    file_hash: str | None
    status: str  # loaded | already_loaded | failed | replaced | empty
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_skipped: int = 0
    rows_held: int = 0  # waiting in raw.pending for their person or unit to be registered
    error: str | None = None  # Chinese, when failed or empty
    reasons: dict[str, int] = field(default_factory=dict)  # "<field>：<category>" of each quarantined row
    logical_name: str | None = None
    version: int = 1
    load_id: str | None = None
    replaced_by: str | None = None
    note: str | None = None  # English remark for the CLI (e.g. same content as another file)

    def summary_line(self) -> str:
        head = f"{self.file}: {self.status}"
        if self.status in (STATUS_FAILED, STATUS_EMPTY):
            return f"{head} - {self.error}"
        held = f"held {self.rows_held}, " if self.rows_held else ""
        counts = (
            f"read {self.rows_read}, loaded {self.rows_loaded}, quarantined {self.rows_quarantined}, "
            f"{held}skipped template rows {self.rows_skipped}"
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
    rows_released: int = 0  # held rows of earlier loads moved into the source table by this load

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

    @property
    def rows_held(self) -> int:
        return self._sum("rows_held")

    def count_status(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def reasons(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.files:
            for k, v in f.reasons.items():
                out[k] = out.get(k, 0) + v
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    def to_metadata(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "files_seen": len(self.files),
            "files_loaded": self.count_status(STATUS_LOADED),
            "files_already_loaded": self.count_status(STATUS_ALREADY),
            "files_replaced": self.count_status(STATUS_REPLACED),
            "files_failed": self.count_status(STATUS_FAILED),
            "files_empty": self.count_status(STATUS_EMPTY),
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "rows_skipped": self.rows_skipped,
            "rows_held": self.rows_held,
            "rows_released": self.rows_released,
            "quarantine_reasons": self.reasons,
            "failed_files": [{"file": f.file, "error": f.error} for f in self.files if f.status == STATUS_FAILED],
            "file_reports": [{k: v for k, v in asdict(f).items() if k not in ("source",)} for f in self.files],
        }

    def summary_lines(self) -> list[str]:
        lines = [f.summary_line() for f in self.files]
        if self.rows_released:
            lines.append(f"released {self.rows_released} held rows: their person or unit is now registered")
        empty = f", {self.count_status(STATUS_EMPTY)} empty" if self.count_status(STATUS_EMPTY) else ""
        held = f"held {self.rows_held}, " if self.rows_held else ""
        lines.append(
            f"{self.source} total: {len(self.files)} files ({self.count_status(STATUS_LOADED)} loaded, "
            f"{self.count_status(STATUS_ALREADY)} already loaded, {self.count_status(STATUS_REPLACED)} replaced, "
            f"{self.count_status(STATUS_FAILED)} failed{empty}); read {self.rows_read}, loaded {self.rows_loaded}, "
            f"quarantined {self.rows_quarantined}, {held}skipped template rows {self.rows_skipped}"
        )
        return lines
