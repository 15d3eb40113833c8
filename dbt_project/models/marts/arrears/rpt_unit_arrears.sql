-- One row per unit with arrears as of var('as_of'): a 欠费单位 (arrears_status 'owing') still
-- owes money after its due date; a 逾期缴费单位 ('paid_late') owes nothing but paid late and
-- bears 逾期缴费滞纳金. Every page that counts units in arrears counts the 'owing' rows here.
with

arrears as (

    select * from {{ ref('fct_arrears') }}

),

units as (

    select * from {{ ref('dim_units') }}

),

per_unit as (

    select
        unit_id,
        max(as_of_date) as as_of_date,
        sum(outstanding) as outstanding,
        sum(late_fee_on_owed) as late_fee_on_owed,
        sum(late_fee_on_paid_late) as late_fee_on_paid_late,
        sum(late_paid_amount) as late_paid_amount,
        cast(count(distinct case when is_owed then fee_period end) as integer) as owed_period_count,
        min(case when is_owed then fee_period end) as first_owed_period,
        max(days_owed) as max_days_owed,
        max(days_paid_late) as max_days_paid_late
    from arrears
    group by unit_id

),

final as (

    select
        p.unit_id,
        u.unit_name,
        u.region_code,
        case when p.outstanding > 0 then 'owing' else 'paid_late' end as arrears_status,
        case when p.outstanding > 0 then '欠费单位' else '逾期缴费单位' end as arrears_status_label,
        p.outstanding > 0 as is_owing,
        cast(p.outstanding as decimal(18, 2)) as outstanding,
        cast(p.late_fee_on_owed as decimal(18, 2)) as late_fee_on_owed,
        cast(p.late_fee_on_paid_late as decimal(18, 2)) as late_fee_on_paid_late,
        cast(p.late_fee_on_owed + p.late_fee_on_paid_late as decimal(18, 2)) as late_fee,
        cast(p.outstanding + p.late_fee_on_owed + p.late_fee_on_paid_late as decimal(18, 2)) as total_payable,
        cast(p.late_paid_amount as decimal(18, 2)) as late_paid_amount,
        p.owed_period_count,
        p.first_owed_period,
        p.max_days_owed,
        p.max_days_paid_late,
        p.as_of_date
    from per_unit as p
    left join units as u on p.unit_id = u.unit_id

)

select * from final
