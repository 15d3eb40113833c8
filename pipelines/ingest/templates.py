"""Employer-template rows: instruction lines, rows marked 示例, and the example rows above "以上…示例".

Such rows are *skipped*, neither loaded nor quarantined. Template rows always carry text in
an unrecognised column (序号) or fail a check (an instruction line leaves the required cells
empty), so only those rows are searched; clean machine exports pay nothing.
"""

from __future__ import annotations

import duckdb

from pipelines.ingest.sql import ROW_SHIFT, count, file_of, lit

INSTRUCTION_RE = (
    r"以上.{0,8}示例|填写说明|请从下一行开始|不要删除示例|(^|\x1f)\s*(说明|注|填表说明)\s*[:：]|(^|\x1f)\s*合\s*计"
)
ABOVE_EXAMPLE_RE = r"以上.{0,8}示例"
EXAMPLE_MARK_RE = r"(^|\x1f)\s*[（(【\[]?\s*(填写)?示例(行|数据)?\s*[）)】\]]?\s*([:：][^\x1f]*)?(\x1f|$)"
EXAMPLE_LEAD_ROWS = 4  # an "以上…示例" line this close to the header marks every row above it
TEMPLATE_TEXT_RE = INSTRUCTION_RE + "|" + EXAMPLE_MARK_RE  # text that keeps an otherwise blank row


def _find_template_text(con: duckdb.DuckDBPyConnection, names: list[str], present: set[str]) -> None:
    """_ingest_tpl(__row, instr, above, mark): the candidate rows whose text matches a template pattern."""
    text = "concat_ws(chr(31), " + ", ".join([f"i.{c}" for c in names if c in present] + ["c.__extra"]) + ")"
    con.execute(f"""
        CREATE TEMP TABLE _ingest_tpl AS
        SELECT __row, regexp_matches(txt, {lit(INSTRUCTION_RE)}) AS instr,
               regexp_matches(txt, {lit(ABOVE_EXAMPLE_RE)}) AS above,
               regexp_matches(txt, {lit(EXAMPLE_MARK_RE)}) AS mark
        FROM (SELECT c.__row, {text} AS txt FROM _ingest_checked c JOIN _ingest_input i ON i.__row = c.__row
              WHERE NOT c.__ok OR c.__extra IS NOT NULL)
        WHERE instr OR mark
    """)


def _lead_rows(con: duckdb.DuckDBPyConnection) -> str:
    """Rows above an "以上…示例" line among the first rows of their file are all example rows."""
    sql = f"SELECT min(__row) FROM _ingest_tpl WHERE above GROUP BY {file_of('__row')}"
    firsts = [r[0] for r in con.execute(sql).fetchall()]
    spans = []
    for first_above in firsts:
        base = int(first_above) // ROW_SHIFT * ROW_SHIFT  # the file's first possible row id
        if count(con, f"SELECT count(*) FROM _ingest_checked WHERE __row >= {base} AND __row < {first_above}") < (
            EXAMPLE_LEAD_ROWS
        ):
            spans.append(f"(c.__row >= {base} AND c.__row < {first_above})")
    return " OR ".join(spans) or "false"


def classify_template_rows(con: duckdb.DuckDBPyConnection, names: list[str], present: set[str]) -> None:
    """_ingest_skip(__row, kind): kind is 'instruction' or 'example'."""
    _find_template_text(con, names, present)
    con.execute("CREATE TEMP TABLE _ingest_skip (__row BIGINT, kind VARCHAR)")
    if count(con, "SELECT count(*) FROM _ingest_tpl") == 0:
        return
    con.execute(f"""
        INSERT INTO _ingest_skip
        SELECT __row, min(kind) FROM (
            SELECT __row, 'example' AS kind FROM _ingest_tpl WHERE mark AND NOT instr
            UNION ALL
            SELECT __row, 'instruction' FROM _ingest_tpl WHERE instr
            UNION ALL
            SELECT p.__row, 'example' FROM (SELECT __row FROM _ingest_tpl WHERE above) a
                ASOF JOIN _ingest_checked p ON {file_of("a.__row")} = {file_of("p.__row")} AND a.__row > p.__row
            UNION ALL
            SELECT c.__row, 'example' FROM _ingest_checked c WHERE {_lead_rows(con)}
        ) GROUP BY __row
    """)
    # an instruction row is never an example, whatever lies below it
    con.execute("""
        UPDATE _ingest_skip SET kind = 'instruction'
        WHERE __row IN (SELECT __row FROM _ingest_tpl WHERE instr)
    """)
