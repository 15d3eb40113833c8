{#
    Condensed detail of the unit proof (单位参保证明, seed 002 §3.3.47 "企业养老、失业、工伤保险
    参保缴费情况(N人明细)"): one row per unit, person and unchanged run, i.e. consecutive fee
    periods whose month rows (rpt_unit_proof_months) have the same insurances, the same base,
    the same 缴费状态, the same 缴费类型 and the same arrival month relative to the fee period
    (arrived k months after it, or not arrived). A change, a gap month or a back payment
    (补收) month starts a new row, so the detail goes by month only where something changed.
    Runs are maximal over the unit's whole history; a reader cuts one at the edges of its
    window (the months left are still consecutive and unchanged, so the cut run is the run
    of the window). A table rebuilt each build: a new month can lengthen any open run.
#}

with

proof_months as (

    select * from {{ ref('rpt_unit_proof_months') }}

),

months as (

    select
        unit_id,
        person_id,
        fee_period,
        fee_month,
        paid_period,
        personal_base,
        paid_status,
        payment_type,
        insurance_types,
        insurances,
        line_count,
        year(fee_month) * 12 + month(fee_month) as month_index,
        -- months from the fee period to the arrival month; null while not arrived
        {{ months_between_starts('fee_month', fee_period_to_month("nullif(paid_period, '')")) }} as paid_delay_months
    from proof_months

),

-- gaps and islands: within one key, consecutive months share month_index - row_number
numbered as (

    select
        *,
        month_index - row_number() over (
            partition by
                unit_id, person_id, insurance_types, personal_base, paid_status, payment_type, paid_delay_months
            order by month_index
        ) as run_anchor
    from months

),

final as (

    select
        unit_id,
        person_id,
        min(fee_period) as first_period,
        max(fee_period) as last_period,
        min(fee_month) as first_month,
        max(fee_month) as last_month,
        cast(count(*) as integer) as month_count,
        coalesce(min(nullif(paid_period, '')), '') as first_paid_period,
        coalesce(max(nullif(paid_period, '')), '') as last_paid_period,
        cast(paid_delay_months as integer) as paid_delay_months,
        cast(personal_base as decimal(18, 2)) as personal_base,
        paid_status,
        payment_type,
        insurance_types,
        min(insurances) as insurances,
        cast(sum(line_count) as integer) as line_count
    from numbered
    group by
        unit_id, person_id, insurance_types, personal_base, paid_status, payment_type, paid_delay_months, run_anchor

)

select * from final
