-- Arrears (欠费) and late fees as of var('as_of') (docs/domain.md section 3).
-- Per ledger line: money arrived by as_of and after the due date is charged for
-- (arrival - due) days; money not arrived by as_of for (as_of - due) days. Each charged day
-- (the day after the due date through the end date) at the late_fee_rates row in force
-- that day, simple, none where insurance_types.has_late_fee is false (housing fund).
-- Not incremental: every figure moves with as_of, so the whole table is recomputed.
with

contributions as (

    select * from {{ ref('fct_contributions') }}

),

due_date_rules as (

    select * from {{ ref('due_date_rules') }}

),

insurance_types as (

    select * from {{ ref('insurance_types') }}

),

late_fee_rates as (

    select * from {{ ref('late_fee_rates') }}

),

contribution_types as (

    select * from {{ ref('contribution_types') }}

),

as_of as (

    select {{ as_of_date() }} as as_of_date

),

due_rules as (

    select
        region_code,
        cast(due_month_offset as integer) as due_month_offset,
        cast(due_day as integer) as due_day
    from due_date_rules

),

lines as (

    select
        c.ledger_line_id,
        c.unit_id,
        c.region_code,
        c.fee_period,
        c.fee_month,
        cast(c.insurance_type as string) as insurance_type,
        coalesce(c.personal_amount, 0) + coalesce(c.unit_amount, 0) as line_due,
        c.paid_status,
        c.paid_amount,
        c.paid_date,
        coalesce(it.has_late_fee, true) as has_late_fee,
        -- due date: the region's month offset and day, an empty day meaning the month's last
        case
            when r.due_day is null then last_day({{ add_months('c.fee_month', 'coalesce(r.due_month_offset, 0)') }})
            else
                least(
                    {{ add_months('c.fee_month', 'r.due_month_offset') }} + (r.due_day - 1),
                    last_day({{ add_months('c.fee_month', 'r.due_month_offset') }})
                )
        end as due_date
    from contributions as c
    left join due_rules as r on c.region_code = r.region_code
    left join insurance_types as it
        on cast(c.insurance_type as string) = cast(it.insurance_type as string)
    left join contribution_types as ct on c.contribution_type = ct.contribution_type
    where not coalesce(ct.is_refund, false)

),

arrived as (

    select
        l.*,
        a.as_of_date,
        case
            when
                l.paid_status in ('已到账', '未足额到账')
                and (l.paid_date is null or l.paid_date <= a.as_of_date)
                then
                    least(
                        coalesce(l.paid_amount, case when l.paid_status = '已到账' then l.line_due else 0 end),
                        l.line_due
                    )
            else cast(0 as decimal(18, 2))
        end as arrived_amount
    from lines as l
    cross join as_of as a

),

measured as (

    select
        *,
        greatest(line_due - arrived_amount, 0) as outstanding_amount,
        case when paid_date > due_date and arrived_amount > 0 then arrived_amount else 0 end as late_paid_amount
    from arrived

),

-- the money late fees are charged on, each with the last day charged
tranches as (

    select
        ledger_line_id,
        outstanding_amount as amount,
        due_date,
        as_of_date as end_date,
        has_late_fee
    from measured
    where outstanding_amount > 0 and as_of_date > due_date
    union all
    select
        ledger_line_id,
        late_paid_amount as amount,
        due_date,
        paid_date as end_date,
        has_late_fee
    from measured
    where late_paid_amount > 0

),

fees as (

    select
        t.ledger_line_id,
        sum(
            cast(t.amount as decimal(38, 2)) * cast(f.daily_rate as decimal(12, 6))
            * greatest(
                {{ days_between(
                    'greatest(t.due_date + 1, cast(f.valid_from as date))',
                    'least(t.end_date, cast(f.valid_to as date))'
                ) }} + 1,
                0
            )
        ) as late_fee_exact
    from tranches as t
    inner join late_fee_rates as f
        on
            cast(f.valid_from as date) <= t.end_date
            and cast(f.valid_to as date) >= t.due_date + 1
    where t.has_late_fee
    group by t.ledger_line_id

),

grouped as (

    select
        m.unit_id,
        m.fee_period,
        m.insurance_type,
        min(m.region_code) as region_code,
        min(m.due_date) as due_date,
        any_value(m.as_of_date) as as_of_date,
        bool_and(m.has_late_fee) as has_late_fee,
        sum(m.line_due) as amount_due,
        sum(m.arrived_amount) as amount_paid,
        sum(m.outstanding_amount) as outstanding,
        sum(m.late_paid_amount) as late_paid_amount,
        max(case when m.late_paid_amount > 0 then m.paid_date end) as last_late_arrival_date,
        max(
            case
                when m.outstanding_amount > 0 and m.as_of_date > m.due_date
                    then {{ days_between('m.due_date', 'm.as_of_date') }}
            end
        ) as days_unpaid,
        max(
            case when m.late_paid_amount > 0 then {{ days_between('m.due_date', 'm.paid_date') }} end
        ) as days_late_paid,
        coalesce(sum(f.late_fee_exact), 0) as late_fee_exact
    from measured as m
    left join fees as f on m.ledger_line_id = f.ledger_line_id
    group by m.unit_id, m.fee_period, m.insurance_type

),

final as (

    select
        unit_id,
        fee_period,
        insurance_type,
        region_code,
        cast(amount_due as decimal(18, 2)) as amount_due,
        cast(amount_paid as decimal(18, 2)) as amount_paid,
        cast(outstanding as decimal(18, 2)) as outstanding,
        cast(late_paid_amount as decimal(18, 2)) as late_paid_amount,
        due_date,
        last_late_arrival_date,
        cast(greatest(coalesce(days_unpaid, 0), coalesce(days_late_paid, 0)) as integer) as days_overdue,
        {{ round_half_up('late_fee_exact') }} as late_fee,
        has_late_fee,
        as_of_date
    from grouped
    where (outstanding > 0 and as_of_date > due_date) or late_paid_amount > 0

)

select * from final
