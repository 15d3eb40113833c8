{#
    One row per current ledger line, built incrementally by fee period (strategy, key
    and schema policy: dbt_project.yml, marts).

    Before the new rows are computed, a pre-hook deletes the lines that are no longer
    current (their file was superseded by a corrected version; on Spark, which cannot
    delete, it drops the fee periods left without any current line). Then every fee period
    holding a current line not yet in this table, or a line no longer current, is
    recomputed as a whole (delete+insert on fee_period; insert_overwrite on Spark). A run
    with no new loads deletes and inserts nothing. Changes to reference data (rates, risk
    classes) need `dbt build --full-refresh -s fct_contributions`.
#}
{{
    config(
        materialized='incremental',
        partition_by=fee_period_partitions(),
        pre_hook="{{ drop_vanished_ledger_lines() }}"
    )
}}

-- depends_on: {{ ref('int_ledger_lines_current') }}

with

lines as (

    select * from {{ ref('int_ledger_lines_priced') }}

),

{% if is_incremental() %}
-- the unpriced view: same lines, without the rate joins
current_lines as (

    select * from {{ ref('int_ledger_lines_current') }}

),

touched_periods as (

    select distinct fee_period
    from current_lines
    where ledger_line_id not in (select ledger_line_id from {{ this }})
    union
    select distinct fee_period
    from {{ this }}
    where ledger_line_id not in (select ledger_line_id from current_lines)

),
{% endif %}

final as (

    select
        ---------- ids
        ledger_line_id,
        unit_id,
        person_id,
        region_code,
        insurance_type,
        contribution_type,
        notice_no,

        ---------- periods
        fee_period,
        fee_month,
        fee_year,

        ---------- bases and amounts (yuan)
        personal_base,
        unit_base,
        personal_amount,
        unit_amount,
        total_amount,
        account_credit,
        interest,
        late_fee,

        ---------- arrival
        paid_status,
        paid_amount,
        paid_date,
        is_paid,

        ---------- rates and expected amounts
        unit_rate,
        personal_rate,
        unit_fixed_amount,
        personal_fixed_amount,
        expected_personal_amount,
        expected_unit_amount,

        ---------- lineage
        source_file,
        source_row,
        file_hash,
        load_id,
        loaded_at

    from lines
    {% if is_incremental() %}
    where fee_period in (select fee_period from touched_periods)
    {% endif %}

)

select * from final
