-- 欠费 as of var('as_of') per unit, fee period and insurance (docs/domain.md section 3), the
-- three amounts kept apart: 欠缴本金 (outstanding: money still owed after the due date),
-- 欠费滞纳金 (late_fee_on_owed: the late fee on that money up to as_of) and 逾期缴费滞纳金
-- (late_fee_on_paid_late: the late fee on money that arrived after the due date, up to its
-- arrival). Lines are measured in int_arrears_lines; each late fee is fct_late_fees' row, so
-- the totals here are the sums of the fees a clerk can check line by line.
-- Not incremental: every figure moves with as_of, so the whole table is recomputed.
with

arrears_lines as (

    select * from {{ ref('int_arrears_lines') }}

),

late_fees as (

    select * from {{ ref('fct_late_fees') }}

),

fees as (

    select
        unit_id,
        fee_period,
        insurance_type,
        sum(case when fee_kind = 'owed' then late_fee else 0 end) as late_fee_on_owed,
        sum(case when fee_kind = 'paid_late' then late_fee else 0 end) as late_fee_on_paid_late
    from late_fees
    group by unit_id, fee_period, insurance_type

),

grouped as (

    select
        unit_id,
        fee_period,
        insurance_type,
        min(region_code) as region_code,
        min(due_date) as due_date,
        max(as_of_date) as as_of_date,
        min(case when has_late_fee then 1 else 0 end) = 1 as has_late_fee,
        sum(line_due) as amount_due,
        sum(arrived_amount) as amount_paid,
        sum(case when is_owed_overdue then owed_amount else 0 end) as outstanding,
        sum(late_paid_amount) as late_paid_amount,
        max(late_arrival_date) as last_late_arrival_date,
        max(days_owed) as days_owed,
        max(days_paid_late) as days_paid_late
    from arrears_lines
    group by unit_id, fee_period, insurance_type

),

final as (

    select
        g.unit_id,
        g.fee_period,
        g.insurance_type,
        g.region_code,
        cast(g.amount_due as decimal(18, 2)) as amount_due,
        cast(g.amount_paid as decimal(18, 2)) as amount_paid,
        cast(g.outstanding as decimal(18, 2)) as outstanding,
        cast(g.late_paid_amount as decimal(18, 2)) as late_paid_amount,
        g.due_date,
        g.last_late_arrival_date,
        g.days_owed,
        g.days_paid_late,
        cast(greatest(coalesce(g.days_owed, 0), coalesce(g.days_paid_late, 0)) as integer) as days_overdue,
        cast(coalesce(f.late_fee_on_owed, 0) as decimal(18, 2)) as late_fee_on_owed,
        cast(coalesce(f.late_fee_on_paid_late, 0) as decimal(18, 2)) as late_fee_on_paid_late,
        cast(coalesce(f.late_fee_on_owed, 0) + coalesce(f.late_fee_on_paid_late, 0) as decimal(18, 2)) as late_fee,
        g.outstanding > 0 as is_owed,
        g.has_late_fee,
        g.as_of_date
    from grouped as g
    left join fees as f
        on
            g.unit_id = f.unit_id
            and g.fee_period = f.fee_period
            and g.insurance_type = f.insurance_type
    where g.outstanding > 0 or g.late_paid_amount > 0

)

select * from final
