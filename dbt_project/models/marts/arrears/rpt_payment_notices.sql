-- One row per payment notice (征集缴费通知单, seed 004): the totals of its lines
-- (rpt_payment_notice_lines) per column, the 核定征集总额 and its capital numerals (大写).
-- fee_period is the latest fee period on the notice (a 补收 notice may carry earlier months,
-- listed in fee_periods). due_date (缴费截止日期) is the due date of that latest fee period
-- under the unit's region rule (macro contribution_due_date, the date late fees run from);
-- earlier months on a 补收 notice were due on their own dates.
with

notice_lines as (

    select * from {{ ref('rpt_payment_notice_lines') }}

),

units as (

    select * from {{ ref('dim_units') }}

),

due_date_rules as (

    select * from {{ ref('due_date_rules') }}

),

due_rules as (

    select
        region_code,
        cast(due_month_offset as integer) as due_month_offset,
        cast(due_day as integer) as due_day
    from due_date_rules

),

notices as (

    select
        l.unit_id,
        u.unit_name,
        l.notice_key,
        l.notice_no,
        max(l.fee_period) as fee_period,
        {{ ordered_string_agg('l.fee_period', 'l.fee_period', distinct=true) }} as fee_periods,
        {{ ordered_string_agg('l.contribution_type', 'l.contribution_type', distinct=true) }} as contribution_types,
        cast(count(*) as integer) as notice_line_count,
        cast(sum(l.personal_amount) as decimal(18, 2)) as personal_amount,
        cast(sum(l.unit_amount) as decimal(18, 2)) as unit_amount,
        cast(sum(l.interest) as decimal(18, 2)) as interest,
        cast(sum(l.late_fee) as decimal(18, 2)) as late_fee,
        cast(sum(l.other_amount) as decimal(18, 2)) as other_amount,
        cast(sum(l.total_amount) as decimal(18, 2)) as total_amount,
        {{ cny_capital('sum(l.total_amount)') }} as total_amount_capital,
        any_value(u.region_code) as region_code
    from notice_lines as l
    left join units as u on l.unit_id = u.unit_id
    group by l.unit_id, u.unit_name, l.notice_key, l.notice_no

),

final as (

    select
        n.unit_id,
        n.unit_name,
        n.notice_key,
        n.notice_no,
        n.fee_period,
        n.fee_periods,
        n.contribution_types,
        n.notice_line_count,
        n.personal_amount,
        n.unit_amount,
        n.interest,
        n.late_fee,
        n.other_amount,
        n.total_amount,
        n.total_amount_capital,
        cast(
            {{ contribution_due_date(fee_period_to_month('n.fee_period'), 'r.due_month_offset', 'r.due_day') }}
            as date
        ) as due_date
    from notices as n
    left join due_rules as r on n.region_code = r.region_code

)

select * from final
