{#
    Unit proof roster and summary totals (单位参保证明 / 参保缴费人员汇总证明, seeds 000,
    002 §3.3.47): one row per unit, person and fee period the person has lines at the
    unit, with the month-paid flags of fct_person_months. Only the unit's own rows exist
    here (seed 004: other units' rows are absent). The reader filters a unit and a window
    and counts rows: months paid are the rows with is_paid.
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

person_months as (

    select * from {{ ref('fct_person_months') }}
    where {{ fee_periods_to_build('fee_period', 'fingerprints') }}

),

persons as (

    select * from {{ ref('dim_persons') }}

),

months as (

    select
        unit_id,
        person_id,
        fee_period,
        min(fee_month) as fee_month,
        bool_or(is_due) as is_due,
        bool_or(is_due) and bool_and(is_person_month_paid) filter (where is_due) as is_paid,
        coalesce(bool_or(is_paid), false) as has_paid_insurance,
        coalesce(bool_or(is_back_payment), false) as is_back_payment,
        cast(count(*) filter (where is_due) as integer) as insurance_count,
        cast(count(*) filter (where is_paid) as integer) as paid_insurance_count,
        sum(personal_amount) as personal_amount,
        sum(unit_amount) as unit_amount,
        min(source_fingerprint) as source_fingerprint
    from person_months
    group by unit_id, person_id, fee_period

),

final as (

    select
        months.unit_id,
        months.person_id,
        months.fee_period,
        months.fee_month,
        persons.name,
        persons.id_number_masked,
        months.is_due,
        coalesce(months.is_paid, false) as is_paid,
        months.has_paid_insurance,
        months.is_back_payment,
        months.insurance_count,
        months.paid_insurance_count,
        cast(months.personal_amount as decimal(18, 2)) as personal_amount,
        cast(months.unit_amount as decimal(18, 2)) as unit_amount,
        cast(months.personal_amount + months.unit_amount as decimal(18, 2)) as total_amount,
        months.source_fingerprint
    from months
    left join persons on months.person_id = persons.person_id

)

select * from final
