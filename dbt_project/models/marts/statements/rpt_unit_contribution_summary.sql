-- 单位缴费明细查询 (seed 004): per unit, fee period and insurance the headcount, rates, base
-- totals and the unit and personal amounts due (all contribution types except refunds, contribution_types.is_refund,
-- which are shown as negative amounts only in the payment notice).
-- Incremental by fee period (macros/reports/incremental.sql; settings in dbt_project.yml).
{{
    config(
        materialized='incremental',
        partition_by=fee_period_partitions(),
        pre_hook="{{ drop_vanished_fee_periods() }}"
    )
}}

with

-- read twice (fingerprints and lines): not materialized, so no copy of the ledger is made
contributions as {{ not_materialized() }} (

    select * from {{ ref('fct_contributions') }}

),

contribution_types as (

    select * from {{ ref('contribution_types') }}

),

fingerprints as (

    {{ fee_period_fingerprints('contributions') }}

),

lines as (

    select *
    from contributions
    where
        contribution_type not in (
            select ct.contribution_type from contribution_types as ct
            where ct.is_refund
        )
        and {{ fee_periods_to_build('fee_period', 'fingerprints') }}

),

final as (

    select
        l.unit_id,
        l.fee_period,
        l.insurance_type,
        min(l.fee_month) as fee_month,
        cast(count(distinct l.person_id) as integer) as headcount,
        max(l.unit_rate) as unit_rate,
        max(l.personal_rate) as personal_rate,
        cast(sum(l.unit_base) as decimal(18, 2)) as unit_base_total,
        cast(sum(l.personal_base) as decimal(18, 2)) as personal_base_total,
        cast(sum(l.unit_amount) as decimal(18, 2)) as unit_amount,
        cast(sum(l.personal_amount) as decimal(18, 2)) as personal_amount,
        cast(sum(l.unit_amount + l.personal_amount) as decimal(18, 2)) as total_amount,
        cast(sum(l.paid_amount) as decimal(18, 2)) as paid_amount,
        cast(count(*) as integer) as line_count,
        min(f.source_fingerprint) as source_fingerprint
    from lines as l
    inner join fingerprints as f on l.fee_period = f.fee_period
    group by l.unit_id, l.fee_period, l.insurance_type

)

select * from final
