{#
  Incremental-by-fee-period helpers for the report marts that grow with the ledger.

  Each such mart stores, on every row, the fingerprint of the source lines of its fee
  period (count and XOR of row hashes of fct_contributions). An incremental run recomputes
  only the fee periods whose fingerprint changed (new, corrected or removed lines) and
  replaces them whole (DuckDB: delete+insert on fee_period; Spark: insert_overwrite of the
  fee-period partitions; set for every mart in dbt_project.yml); a pre-hook drops periods
  that no longer have any line. Re-running an unchanged month
  therefore selects nothing and changes nothing. A change of reference data needs
  --full-refresh of the mart.
#}

{# Fingerprint per fee period of `contributions`, the model's import CTE of fct_contributions. #}
{% macro fee_period_fingerprints(contributions) -%}
    select
        c.fee_period,
        cast(count(*) as string) || '-' || cast(bit_xor({{ row_hash('c') }}) as string) as source_fingerprint
    from {{ contributions }} as c
    group by c.fee_period
{%- endmacro %}

{# Predicate on `column` keeping only the fee periods to (re)build in this run; `fingerprints` names the model's CTE of fee_period_fingerprints(). #}
{% macro fee_periods_to_build(column, fingerprints) -%}
    {%- if is_incremental() -%}
    {{ column }} in (
        select f.fee_period
        from {{ fingerprints }} as f
        left join (select distinct fee_period, source_fingerprint from {{ this }}) as t
            on f.fee_period = t.fee_period
        where t.source_fingerprint is distinct from f.source_fingerprint
    )
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}

{# Pre-hook: drop the fee periods that no longer have any line (per engine: macros/cross_engine.sql). #}
{% macro drop_vanished_fee_periods() -%}
    {{ drop_fee_periods_missing_from(ref('fct_contributions')) }}
{%- endmacro %}
