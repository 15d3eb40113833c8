-- 单位缴费明细查询 (seed 004): per unit, fee period and insurance the headcount, rates, base
-- totals and the unit and personal amounts due (all contribution types except refunds, contribution_types.is_refund,
-- which are shown as negative amounts only in the payment notice).
-- Incremental by fee period (macros/reports/incremental.sql).
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='fee_period',
        on_schema_change='fail',
        pre_hook="{{ drop_vanished_fee_periods() }}"
    )
}}

with fingerprints as (
    {{ fee_period_fingerprints() }}
),

refund_types as (
    select contribution_type from {{ ref('contribution_types') }} where is_refund
),

lines as (
    select *
    from {{ ref('fct_contributions') }}
    where contribution_type not in (select contribution_type from refund_types)
      and {{ fee_periods_to_build('fee_period') }}
)

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
inner join fingerprints as f on f.fee_period = l.fee_period
group by l.unit_id, l.fee_period, l.insurance_type
