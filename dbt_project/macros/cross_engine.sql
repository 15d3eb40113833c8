{#
    The one place where DuckDB and Spark SQL differ (docs/scale-out.md). Models use the
    spelling both engines accept where there is one (string, min_by/max_by, make_date,
    QUALIFY, GROUP BY ALL, FILTER, bool_and/bool_or, last_day, md5, lpad, date + integer);
    for the rest they call the macros below, each dispatched on the target's adapter:
    default__ is DuckDB's spelling, spark__ Spark 4's. New SQL follows the same list:

      hugeint                         -> {{ int128_type() }}
      a // b                          -> {{ int_div('a', 'b') }}
      * exclude (a, b)                -> {{ star_except(['a', 'b']) }}
      string_agg(x, ',' order by y)   -> {{ ordered_string_agg('x', 'y') }} (distinct=true: sorted distinct values of x)
      date_diff('day', a, b)          -> {{ days_between('a', 'b') }}
      date_diff('month', a, b)        -> {{ months_between_starts('a', 'b') }} (first-of-month dates)
      d + to_months(n)                -> {{ add_months('d', 'n') }} (first-of-month dates)
      strptime / strftime on periods  -> fee_period_to_month() / month_to_fee_period() (macros/periods.sql)
      range(d1, d2, interval 1 month) -> {{ month_series('d1', 'd2', 'alias', 'column') }} (a FROM item)
      cross join lateral (select unnest(range(a, b)) as k) as t
                                      -> {{ cross_join_series('a', 'b', 't', 'k') }}
      x as not materialized (         -> x as {{ not_materialized() }} (
      hash(row)                       -> {{ row_hash('alias') }} (values differ per engine)
      regexp_full_match / regexp_matches / regexp_replace(..., 'g')
                                      -> regex_full_match / regex_contains / regex_replace_all
      asof left join                  -> a left join on a validity range (see rpt_pension_estimate)
      ['a', 'b'][i] list literal      -> substr('ab', i, 1)
      ltrim(x, '0') <> ''             -> replace(x, '0', '') <> '' (Spark's ltrim(x, '0') means something else)
      sign(x) * decimal               -> cast(sign(x) as integer) * decimal (Spark's sign() is a DOUBLE)
#}

{% macro int128_type() -%}{{ return(adapter.dispatch('int128_type', 'shebao')()) }}{%- endmacro %}
{% macro default__int128_type() -%}hugeint{%- endmacro %}
{% macro spark__int128_type() -%}decimal(38, 0){%- endmacro %}

{#- Integer division, truncating toward zero on non-negative operands. -#}
{% macro int_div(numerator, denominator) -%}{{ return(adapter.dispatch('int_div', 'shebao')(numerator, denominator)) }}{%- endmacro %}
{% macro default__int_div(numerator, denominator) -%}(({{ numerator }}) // ({{ denominator }})){%- endmacro %}
{% macro spark__int_div(numerator, denominator) -%}(({{ numerator }}) div ({{ denominator }})){%- endmacro %}

{#- Every column of the FROM items but these. -#}
{% macro star_except(columns) -%}{{ return(adapter.dispatch('star_except', 'shebao')(columns)) }}{%- endmacro %}
{% macro default__star_except(columns) -%}* exclude ({{ columns | join(', ') }}){%- endmacro %}
{% macro spark__star_except(columns) -%}* except ({{ columns | join(', ') }}){%- endmacro %}

{#-
    Values of `expression` joined by `separator` in the order of `order_by`; distinct=true
    joins the distinct values in their own order (order_by must then be the expression).
    Spark 4.3 throws on two string_agg(distinct ...) within group in one query, so Spark
    sorts a set instead.
-#}
{% macro ordered_string_agg(expression, order_by, distinct=false, separator="','") -%}
    {{ return(adapter.dispatch('ordered_string_agg', 'shebao')(expression, order_by, distinct, separator)) }}
{%- endmacro %}
{% macro default__ordered_string_agg(expression, order_by, distinct, separator) -%}
    string_agg({{ 'distinct ' if distinct }}{{ expression }}, {{ separator }} order by {{ order_by }})
{%- endmacro %}
{% macro spark__ordered_string_agg(expression, order_by, distinct, separator) -%}
    {%- if distinct -%}
    nullif(array_join(array_sort(collect_set({{ expression }})), {{ separator }}), '')
    {%- else -%}
    string_agg({{ expression }}, {{ separator }}) within group (order by {{ order_by }})
    {%- endif -%}
{%- endmacro %}

{#- Days from date a to date b (b - a). -#}
{% macro days_between(start_date, end_date) -%}{{ return(adapter.dispatch('days_between', 'shebao')(start_date, end_date)) }}{%- endmacro %}
{% macro default__days_between(start_date, end_date) -%}date_diff('day', {{ start_date }}, {{ end_date }}){%- endmacro %}
{% macro spark__days_between(start_date, end_date) -%}datediff({{ end_date }}, {{ start_date }}){%- endmacro %}

{#- Months from month a to month b, both first-of-month dates: one spelling for both engines. -#}
{% macro months_between_starts(start_month, end_month) -%}
    ((year({{ end_month }}) * 12 + month({{ end_month }})) - (year({{ start_month }}) * 12 + month({{ start_month }})))
{%- endmacro %}

{#- First of the month n months after a first-of-month date, as DATE. -#}
{% macro add_months(month_date, n) -%}{{ return(adapter.dispatch('add_months', 'shebao')(month_date, n)) }}{%- endmacro %}
{% macro default__add_months(month_date, n) -%}cast({{ month_date }} + to_months(cast({{ n }} as integer)) as date){%- endmacro %}
{% macro spark__add_months(month_date, n) -%}add_months(cast({{ month_date }} as date), cast({{ n }} as integer)){%- endmacro %}

{#- A FROM item: first-of-month dates from start (inclusive) to stop (exclusive), column `column` of `alias`. -#}
{% macro month_series(start_month, stop_month, alias, column) -%}
    {{ return(adapter.dispatch('month_series', 'shebao')(start_month, stop_month, alias, column)) }}
{%- endmacro %}
{% macro default__month_series(start_month, stop_month, alias, column) -%}
    range({{ start_month }}, {{ stop_month }}, interval 1 month) as {{ alias }} ({{ column }})
{%- endmacro %}
{% macro spark__month_series(start_month, stop_month, alias, column) -%}
    (select explode(sequence({{ start_month }}, add_months({{ stop_month }}, -1), interval 1 month)) as {{ column }}) as {{ alias }}
{%- endmacro %}

{#- A cross join of every row with the integers start (inclusive) to stop (exclusive); none when stop <= start. -#}
{% macro cross_join_series(start, stop, alias, column) -%}
    {{ return(adapter.dispatch('cross_join_series', 'shebao')(start, stop, alias, column)) }}
{%- endmacro %}
{% macro default__cross_join_series(start, stop, alias, column) -%}
    cross join lateral (select unnest(range({{ start }}, {{ stop }})) as {{ column }}) as {{ alias }}
{%- endmacro %}
{% macro spark__cross_join_series(start, stop, alias, column) -%}
    cross join lateral explode(
        filter(sequence({{ start }}, greatest({{ stop }} - 1, {{ start }})), v -> v < {{ stop }})
    ) as {{ alias }} ({{ column }})
{%- endmacro %}

{#- A CTE read twice that must not be materialised (DuckDB's hint; Spark inlines CTEs anyway). -#}
{% macro not_materialized() -%}{{ return(adapter.dispatch('not_materialized', 'shebao')()) }}{%- endmacro %}
{% macro default__not_materialized() -%}not materialized{%- endmacro %}
{% macro spark__not_materialized() -%}{%- endmacro %}

{#- A 64-bit hash of a whole row of `alias` (engine-specific values: fingerprints only). -#}
{% macro row_hash(alias) -%}{{ return(adapter.dispatch('row_hash', 'shebao')(alias)) }}{%- endmacro %}
{% macro default__row_hash(alias) -%}hash({{ alias }}){%- endmacro %}
{% macro spark__row_hash(alias) -%}xxhash64({{ alias }}.*){%- endmacro %}

{#- Regular expressions (RE2 on DuckDB, Java on Spark: the project's patterns mean the same in both). -#}
{% macro regex_full_match(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'shebao')(expression, pattern)) }}
{%- endmacro %}
{% macro default__regex_full_match(expression, pattern) -%}regexp_full_match({{ expression }}, '{{ pattern }}'){%- endmacro %}
{% macro spark__regex_full_match(expression, pattern) -%}({{ expression }} rlike '^(?:{{ pattern }})$'){%- endmacro %}

{% macro regex_contains(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_contains', 'shebao')(expression, pattern)) }}
{%- endmacro %}
{% macro default__regex_contains(expression, pattern) -%}regexp_matches({{ expression }}, '{{ pattern }}'){%- endmacro %}
{% macro spark__regex_contains(expression, pattern) -%}({{ expression }} rlike '{{ pattern }}'){%- endmacro %}

{#- Replace every match; `replacement` refers to groups as \1, \2 (rewritten to $1, $2 for Spark). -#}
{% macro regex_replace_all(expression, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all', 'shebao')(expression, pattern, replacement)) }}
{%- endmacro %}
{% macro default__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}
{% macro spark__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ modules.re.sub("\\\\(\\d)", "$\\1", replacement) }}')
{%- endmacro %}

{#-
    Incremental marts by fee period (macros/reports/incremental.sql). DuckDB deletes rows
    before delete+insert; Spark's Parquet tables cannot delete, so insert_overwrite replaces
    the fee-period partitions a run writes, and partitions with nothing left are dropped.
-#}
{% macro fee_period_partitions() -%}
    {{ return(['fee_period'] if target.type == 'spark' else none) }}
{%- endmacro %}

{#- Pre-hook: drop the fee periods of {{ this }} that `source` (a relation with fee_period) no longer has. -#}
{% macro drop_fee_periods_missing_from(source) -%}
    {{ return(adapter.dispatch('drop_fee_periods_missing_from', 'shebao')(source)) }}
{%- endmacro %}
{% macro default__drop_fee_periods_missing_from(source) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where fee_period not in (select distinct fee_period from {{ source }})
    {%- endif -%}
{%- endmacro %}
{% macro spark__drop_fee_periods_missing_from(source) -%}
    {%- if is_incremental() and execute -%}
        {%- set vanished = run_query(
            "select distinct fee_period from " ~ this
            ~ " where fee_period not in (select distinct fee_period from " ~ source ~ ") order by 1"
        ).columns[0].values() -%}
        {%- if vanished | length > 0 -%}
    alter table {{ this }} drop if exists
        {%- for period in vanished %} partition (fee_period = '{{ period }}'){{ ',' if not loop.last }}{%- endfor %}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- fct_contributions' pre-hook: lines no longer current go (DuckDB deletes them; Spark drops fee periods left without any). -#}
{% macro drop_vanished_ledger_lines() -%}
    {{ return(adapter.dispatch('drop_vanished_ledger_lines', 'shebao')()) }}
{%- endmacro %}
{% macro default__drop_vanished_ledger_lines() -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where ledger_line_id not in (select ledger_line_id from {{ ref('int_ledger_lines_current') }})
    {%- endif -%}
{%- endmacro %}
{% macro spark__drop_vanished_ledger_lines() -%}
    {{ spark__drop_fee_periods_missing_from(ref('int_ledger_lines_current')) }}
{%- endmacro %}

{#-
    on-run-start: the raw sources as Spark sees them. The pipeline exports every raw table
    as Parquet right after loading (pipelines/ingest/parquet_export.py) into
    $SHEBAO_SPARK_RAW/<table>/ (the ledger split into fee_period=YYYYMM folders); each source
    becomes a view over its folder. A source without its folder fails the run here. DuckDB
    reads its own raw schema: nothing to do.
-#}
{% macro register_raw_sources() -%}
    {{ return(adapter.dispatch('register_raw_sources', 'shebao')()) }}
{%- endmacro %}
{% macro default__register_raw_sources() -%}{%- endmacro %}
{% macro spark__register_raw_sources() -%}
    {%- if execute -%}
        {%- set root = env_var('SHEBAO_SPARK_RAW', env_var('SHEBAO_SPARK_DIR', '/SHEBAO_SPARK_DIR-not-set') ~ '/raw') -%}
        {%- set schemas = [] -%}
        {%- for source in graph.sources.values() if source.schema not in schemas -%}
            {%- do schemas.append(source.schema) -%}
            {%- do run_query('create database if not exists ' ~ source.schema) -%}
        {%- endfor -%}
        {%- for source in graph.sources.values() -%}
            {%- do run_query(
                'create or replace view ' ~ source.schema ~ '.' ~ source.identifier
                ~ ' as select * from parquet.`' ~ root ~ '/' ~ source.identifier ~ '`'
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
