{#
    Detail lines of the unit proof (单位参保证明, seed 002 §3.3.47 "10人明细"): one row per
    unit, person, fee period, arrival month, base, arrival status and 缴费类型, with the
    insurances paid on it. 缴费类型 is 补收 for a back payment (contribution_types.
    is_back_payment), 退收 for a refund, else 正常. Only the unit's own lines exist here
    (seed 004). The reader filters a unit, people and a window and joins consecutive
    unchanged months into one printed row. Incremental by fee period.
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

fingerprints as (

    {{ fee_period_fingerprints('all_contributions') }}

),

contribution_types as (

    select * from {{ ref('contribution_types') }}

),

insurance_types as (

    select * from {{ ref('insurance_types') }}

),

lines as (

    select
        c.unit_id,
        c.person_id,
        c.fee_period,
        c.fee_month,
        c.insurance_type,
        coalesce(c.personal_base, 0) as personal_base,
        coalesce(c.paid_status, '未到账') as paid_status,
        coalesce({{ month_to_fee_period('c.paid_date') }}, '') as paid_period,
        case
            when ct.is_back_payment then '补收'
            when ct.is_refund then '退收'
            else '正常'
        end as payment_type,
        replace(coalesce(it.insurance_short_name, it.insurance_name, cast(c.insurance_type as string)), '保险', '')
            as insurance_label,
        coalesce(it.sort_order, 999) as insurance_sort_order,
        f.source_fingerprint
    from all_contributions as c
    inner join fingerprints as f on c.fee_period = f.fee_period
    left join contribution_types as ct on c.contribution_type = ct.contribution_type
    left join insurance_types as it on cast(c.insurance_type as string) = cast(it.insurance_type as string)
    where {{ fee_periods_to_build('c.fee_period', 'fingerprints') }}

),

final as (

    select
        unit_id,
        person_id,
        fee_period,
        min(fee_month) as fee_month,
        paid_period,
        cast(personal_base as decimal(18, 2)) as personal_base,
        paid_status,
        payment_type,
        {{ ordered_string_agg('cast(insurance_type as string)', 'cast(insurance_type as string)', distinct=true) }}
            as insurance_types,
        {{ ordered_string_agg('insurance_label', 'insurance_sort_order, insurance_label', separator="'、'") }}
            as insurances,
        cast(count(*) as integer) as line_count,
        min(source_fingerprint) as source_fingerprint
    from lines
    group by unit_id, person_id, fee_period, paid_period, personal_base, paid_status, payment_type

)

select * from final
