{#
    Data tests scoped to the fee periods a build touched (dbt's `where` test config).

    A test opts in with a `where` that names the placeholder __touched_fee_periods__, e.g.
        config:
          where: "__touched_fee_periods__"
    or, for a key unique over the whole table, the keys of the touched periods:
          where: "ledger_line_id in (select ledger_line_id from __relation__ where __touched_fee_periods__)"

    The pipeline sets SHEBAO_TEST_FEE_PERIODS (comma-separated fee periods, or "none") only on an
    incremental build whose previous build passed every test with the same project, the same
    non-ledger sources and the same engine (pipelines/defs/transform/test_scope.py). Only tests
    on marts built incrementally by fee period opt in: their other periods were not rebuilt, so
    they still hold what the last full test suite passed. Without the variable (a full build,
    CI, `dbt build` by hand) every test reads the whole table.
#}

{% macro touched_fee_periods_predicate() -%}
    {%- set raw = env_var('SHEBAO_TEST_FEE_PERIODS', '') | trim -%}
    {%- if raw == '' -%}
        {{ return(none) }}
    {%- elif raw == 'none' -%}
        {{ return('false') }}
    {%- endif -%}
    {%- set periods = [] -%}
    {%- for period in raw.split(',') -%}
        {%- if not modules.re.match('^\d{6}$', period | trim) -%}
            {{ exceptions.raise_compiler_error("SHEBAO_TEST_FEE_PERIODS must be YYYYMM,... or none, got: " ~ raw) }}
        {%- endif -%}
        {%- do periods.append("'" ~ (period | trim) ~ "'") -%}
    {%- endfor -%}
    {{ return('fee_period in (' ~ periods | join(', ') ~ ')') }}
{%- endmacro %}


{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where and '__touched_fee_periods__' in where -%}
        {%- set predicate = touched_fee_periods_predicate() -%}
        {%- if predicate is none -%}
            {%- set where = none -%}
        {%- else -%}
            {%- set where = where | replace('__touched_fee_periods__', predicate) | replace('__relation__', relation | string) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}
