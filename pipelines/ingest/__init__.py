"""Ingestion: the landing folder into schema ``raw`` of the warehouse, and the rules every file meets.

Modules: loader (the orchestration: load_source, load_landing), batch (several files checked
and inserted together), prefetch (files read ahead on worker threads), discovery (files,
versions, the landing folder check), readers/csv_reader/sheet/plausibility (a file to an
all-text Arrow table), checks/typing_sql/reference/templates/quarantine/pending (rows typed,
checked, quarantined, held), bookkeeping (raw.load_files, corrections), tables (all raw.* DDL),
sql (literals, batch row ids and lineage, the transaction block), report (what a load did).

One call of :func:`loader.load_source` loads every new file of one landing sub-folder
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
    *skipped* (employer-template rows, see templates.py), *loaded*, *quarantined*, or
    *held* (a valid row naming a person or unit not registered yet, see pending.py). So
    per file ``rows_read = rows_loaded + rows_quarantined + rows_held + rows_skipped``;
    raw.load_files and the reports carry the five figures. A file with a header and no
    data row (or no bytes at all) is ``empty``, with its reason.

Quarantine
    A row is quarantined for hard errors only (soft findings such as amount vs base x
    rate are dbt's and GX's job). raw.quarantine gets ONE row per quarantined input
    row (see quarantine.py), e.g.
    「文件 ledgers/a.csv 第17行 字段“证件号码”(id_number)：证件号码校验位错误（应为X），值为“320…”」.
    ``record`` is the row as read (cells trimmed, empty cells null), as JSON keyed by
    the file's own headers. ``FileReport.reasons`` counts quarantined rows by
    ``"<field>：<problem>"`` of their first failure (so it sums to rows_quarantined).

Odd inputs
    A missing landing folder, or one without any source sub-folder or file, raises
    LandingFolderError. Nothing is read through a symbolic link: a linked file or folder
    fails with a reason. A CSV decoded as GB18030 whose names hold characters no name
    would (mojibake of another encoding, see plausibility.py) fails; a CSV whose header is
    found only with ``;``, tab or ``|`` as delimiter fails saying so.

Idempotency
    A file is identified by the SHA-256 of its bytes. Content already loaded for this
    source (under any name) is not loaded again: status ``already_loaded``, counts 0.
    The same content under a second name is recorded once in raw.load_files as
    ``already_loaded`` with nothing loaded (rather than quarantining every row as a
    duplicate), unless the earlier file was header-only: such bytes carry no rows, so
    each such file is taken on its own (a header-only correction empties its own file).
    A file that failed is retried on the next run (a code or template fix may let it
    load); re-running changes nothing when nothing changed.

Corrections
    ``<stem>.v<N>.<ext>`` is version N of the logical file ``<stem>.<ext>`` (same
    folder; a name without the suffix is version 1). Loading version N marks every
    loaded row of earlier versions superseded (``superseded_at`` set, in the raw table
    and in raw.quarantine; nothing is deleted), marks their raw.load_files rows
    ``replaced`` (``replaced_by`` = the new file), then loads its own rows; duplicate
    detection ignores superseded rows. A file without the suffix never replaces
    anything. A version older than one already loaded fails as a file.

Transactions
    New files are loaded in batches: consecutive files of the source that are new, readable,
    version 1 and of the same header (up to batch.BATCH_MAX_ROWS rows) are checked in one
    scan and inserted in one statement, in ONE transaction with their raw.load_files rows;
    outcomes, reasons and lineage stay per file, and every rule gives what loading the files
    one by one would (a key first seen in an earlier file of the batch is a duplicate of that
    file's row; ``batched=False`` loads one by one, and the tests compare the two). A
    correction (version 2 and up) or a second copy of a batch file closes the batch first and
    is loaded alone. A file that fails leaves nothing behind but its ``failed`` row in
    raw.load_files (Chinese error naming the file), and fails alone: a file that cannot be
    read, lacks a required column or is otherwise refused never enters a batch, and if a
    batch's transaction fails as a whole it is rolled back and its files loaded one by one.

Speed
    Rows are validated in DuckDB SQL over the batch's Arrow table (checks.py); files are
    parsed ahead on two threads (prefetch.py). Rows are inserted with
    ``preserve_insertion_order = false`` (in parallel; ``source_row`` keeps the file order);
    the caller's setting is restored.
"""
