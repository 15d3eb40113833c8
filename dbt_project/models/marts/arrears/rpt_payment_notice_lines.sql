-- Lines of the payment notice (征集缴费通知单, seed 004): per unit, notice, fee period,
-- insurance and contribution type the personal, unit, interest, late fee, other and total
-- amounts. Lines without a notice number form one notice per unit and fee period.
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

insurance_types as (

    select * from {{ ref('insurance_types') }}

),

fingerprints as (

    {{ fee_period_fingerprints('contributions') }}

),

lines as (

    select *
    from contributions
    where {{ fee_periods_to_build('fee_period', 'fingerprints') }}

),

grouped as (

    select
        l.unit_id,
        coalesce(l.notice_no, l.unit_id || '-' || l.fee_period) as notice_key,
        l.notice_no,
        l.fee_period,
        l.insurance_type,
        l.contribution_type,
        sum(l.personal_amount) as personal_amount,
        sum(l.unit_amount) as unit_amount,
        sum(coalesce(l.interest, 0)) as interest,
        sum(coalesce(l.late_fee, 0)) as late_fee,
        count(*) as line_count,
        count(distinct l.person_id) as headcount,
        min(f.source_fingerprint) as source_fingerprint
    from lines as l
    inner join fingerprints as f on l.fee_period = f.fee_period
    group by all

),

final as (

    select
        g.unit_id,
        g.notice_key,
        g.notice_no,
        g.fee_period,
        g.insurance_type,
        it.insurance_name,
        g.contribution_type,
        cast(g.personal_amount as decimal(18, 2)) as personal_amount,
        cast(g.unit_amount as decimal(18, 2)) as unit_amount,
        cast(g.interest as decimal(18, 2)) as interest,
        cast(g.late_fee as decimal(18, 2)) as late_fee,
        -- the ledger contract carries no other charge (其他缴费金额); kept for the notice layout
        cast(0 as decimal(18, 2)) as other_amount,
        cast(g.personal_amount + g.unit_amount + g.interest + g.late_fee as decimal(18, 2)) as total_amount,
        cast(g.line_count as integer) as line_count,
        cast(g.headcount as integer) as headcount,
        coalesce(it.sort_order, 999) as insurance_sort_order,
        g.source_fingerprint
    from grouped as g
    left join insurance_types as it on g.insurance_type = it.insurance_type

)

select * from final
