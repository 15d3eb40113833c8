"""Read the next few landing files on worker threads while the loader settles the current one.

Parsing (pyarrow, calamine, the GB18030 decoder) needs no database, so it runs ahead on both
cores; the loader still decides, file by file and in order, what to do with each file, and
uses a read only when the file's bytes are the ones it hashed itself. A file whose content was
already loaded when the source started is not parsed (a re-run stays a hashing pass).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from pipelines.ingest.discovery import content_hash, read_no_follow
from pipelines.ingest.readers import SUPPORTED_EXTENSIONS, ReadResult

AHEAD = 4  # files read ahead of the loader: bounds the memory held by reads not yet used
WORKERS = 2

Parsed = tuple[str, ReadResult | None, BaseException | None]  # (hash, read, the read's error)


class Prefetcher:
    def __init__(self, files: list[tuple[Path, str]], known: set[str], parse: Callable[[Path, str, bytes], ReadResult]):
        self.files = files
        self.known = known
        self.parse = parse
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="ingest-read")
        self.futures: dict[str, Future[Parsed | None]] = {}
        self.next = 0

    def _work(self, path: Path, rel: str) -> Parsed | None:
        if path.is_symlink() or path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            return None  # the loader refuses these itself
        try:
            data = read_no_follow(path)
        except OSError:
            return None
        digest = content_hash(data)
        if digest in self.known or not data.strip() or data.strip() == b"\xef\xbb\xbf":
            return None
        try:
            return digest, self.parse(path, rel, data), None
        except Exception as exc:  # handed to the loader, which fails the file as a direct read would
            return digest, None, exc

    def _fill(self) -> None:
        while self.next < len(self.files) and len(self.futures) < AHEAD:
            path, rel = self.files[self.next]
            self.futures[rel] = self.pool.submit(self._work, path, rel)
            self.next += 1

    def start(self) -> Prefetcher:
        self._fill()
        return self

    def take(self, rel: str) -> Parsed | None:
        """The read made ahead for `rel` (the caller checks its hash), or None; called once per file, in order."""
        future = self.futures.pop(rel, None)
        self._fill()
        return None if future is None else future.result()

    def close(self) -> None:
        for future in self.futures.values():
            future.cancel()
        self.pool.shutdown(wait=True)
