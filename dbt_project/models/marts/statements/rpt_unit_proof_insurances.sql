{#
    Unit proof, per insurance (seed 002 §3.3.47: 当前单位费率 / 当前个人费率 / 缴费截止时间 /
    缴费人数): one row per unit, fee period and insurance with the staff due and the staff
    paid that month (fct_person_months.is_paid) and the rates in force. The proof shows,
    for the window the user picks, each insurance's last month with paid staff
    (paid-up-to), its paid headcount and its rates: the reader picks that row.
#}
{{
    config(
        materialized='incremental',
        partition_by=fee_period_partitions(),
        pre_hook="{{ drop_vanished_fee_periods() }}"
    )
}}

with

-- read for the fingerprints and the lines: not materialized, so no copy of the ledger is made
all_contributions as {{ not_materialized() }} (

    select * from {{ ref('fct_contributions') }}

),

-- read by fee_periods_to_build on incremental runs only, hence the noqa
fingerprints as (  -- noqa: ST03

    {{ fee_period_fingerprints('all_contributions') }}

),

contributions as (

    select * from all_contributions
    where {{ fee_periods_to_build('fee_period', 'fingerprints') }}

),

person_months as (

    select * from {{ ref('fct_person_months') }}
    where {{ fee_periods_to_build('fee_period', 'fingerprints') }}

),

contribution_types as (

    select * from {{ ref('contribution_types') }}

),

insurance_types as (

    select * from {{ ref('insurance_types') }}

),

rates as (

    -- the rates of the month's non-refund lines
    select
        contributions.unit_id,
        contributions.fee_period,
        cast(contributions.insurance_type as string) as insurance_type,
        max(contributions.unit_rate) as unit_rate,
        max(contributions.personal_rate) as personal_rate,
        max(contributions.unit_fixed_amount) as unit_fixed_amount,
        max(contributions.personal_fixed_amount) as personal_fixed_amount
    from contributions
    left join contribution_types
        on contributions.contribution_type = contribution_types.contribution_type
    where not coalesce(contribution_types.is_refund, false)
    group by all

),

headcounts as (

    select
        unit_id,
        fee_period,
        insurance_type,
        min(fee_month) as fee_month,
        cast(count(distinct person_id) as integer) as due_headcount,
        cast(count(distinct person_id) filter (where is_paid) as integer) as paid_headcount,
        min(source_fingerprint) as source_fingerprint
    from person_months
    where is_due
    group by all

),

final as (

    select
        headcounts.unit_id,
        headcounts.fee_period,
        headcounts.insurance_type,
        headcounts.fee_month,
        insurance_types.insurance_name,
        cast(coalesce(insurance_types.sort_order, 999) as integer) as sort_order,
        headcounts.due_headcount,
        headcounts.paid_headcount,
        cast(rates.unit_rate as decimal(9, 6)) as unit_rate,
        cast(rates.personal_rate as decimal(9, 6)) as personal_rate,
        cast(rates.unit_fixed_amount as decimal(18, 2)) as unit_fixed_amount,
        cast(rates.personal_fixed_amount as decimal(18, 2)) as personal_fixed_amount,
        headcounts.source_fingerprint
    from headcounts
    left join rates
        on headcounts.unit_id = rates.unit_id
            and headcounts.fee_period = rates.fee_period
            and headcounts.insurance_type = rates.insurance_type
    left join insurance_types
        on cast(insurance_types.insurance_type as string) = headcounts.insurance_type

)

select * from final
