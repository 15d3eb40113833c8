-- Every contribution line measured for arrears as of var('as_of') (docs/domain.md section 3):
-- its due date (macro contribution_due_date on seed due_date_rules), the money arrived by
-- as_of, the money still owed (欠缴本金) and the money that arrived after the due date, with
-- the days each is late. Refunds (退收) owe nothing and are left out.
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

contribution_types as (

    select * from {{ ref('contribution_types') }}

),

as_of as (

    select {{ as_of_date() }} as as_of_date

),

lines as (

    select
        c.ledger_line_id,
        c.unit_id,
        c.person_id,
        c.region_code,
        c.fee_period,
        c.fee_month,
        cast(c.insurance_type as string) as insurance_type,
        c.contribution_type,
        c.notice_no,
        cast(coalesce(c.personal_amount, 0) + coalesce(c.unit_amount, 0) as decimal(18, 2)) as line_due,
        c.paid_status,
        c.paid_amount,
        c.paid_date,
        coalesce(it.has_late_fee, true) as has_late_fee,
        {{ contribution_due_date(
            'c.fee_month',
            'cast(r.due_month_offset as integer)',
            'cast(r.due_day as integer)'
        ) }} as due_date
    from contributions as c
    left join due_date_rules as r on c.region_code = r.region_code
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
            else 0
        end as arrived_amount
    from lines as l
    cross join as_of as a

),

measured as (

    select
        *,
        greatest(line_due - arrived_amount, 0) as owed_amount,
        case when paid_date > due_date and arrived_amount > 0 then arrived_amount else 0 end as late_paid_amount
    from arrived

),

final as (

    select
        ledger_line_id,
        unit_id,
        person_id,
        region_code,
        fee_period,
        fee_month,
        insurance_type,
        contribution_type,
        notice_no,
        has_late_fee,
        due_date,
        as_of_date,
        line_due,
        cast(arrived_amount as decimal(18, 2)) as arrived_amount,
        cast(owed_amount as decimal(18, 2)) as owed_amount,
        cast(late_paid_amount as decimal(18, 2)) as late_paid_amount,
        case when late_paid_amount > 0 then paid_date end as late_arrival_date,
        owed_amount > 0 and as_of_date > due_date as is_owed_overdue,
        case
            when owed_amount > 0 and as_of_date > due_date
                then cast({{ days_between('due_date', 'as_of_date') }} as integer)
        end as days_owed,
        case
            when late_paid_amount > 0
                then cast({{ days_between('due_date', 'paid_date') }} as integer)
        end as days_paid_late
    from measured

)

select * from final
