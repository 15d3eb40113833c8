-- Fails when a late fee is charged on an insurance without one (housing fund), when a row
-- has neither outstanding money nor late money, when days overdue are not positive, or when
-- fct_arrears' late fees differ from the sum of fct_late_fees' rows.
with

arrears as (

    select * from {{ ref('fct_arrears') }}

),

late_fees as (

    select
        unit_id,
        fee_period,
        insurance_type,
        sum(late_fee) as late_fee
    from {{ ref('fct_late_fees') }}
    group by unit_id, fee_period, insurance_type

)

select
    a.unit_id,
    a.fee_period,
    a.insurance_type
from arrears as a
left join late_fees as f
    on
        a.unit_id = f.unit_id
        and a.fee_period = f.fee_period
        and a.insurance_type = f.insurance_type
where
    (not a.has_late_fee and a.late_fee <> 0)
    or (a.outstanding = 0 and a.late_paid_amount = 0)
    or a.days_overdue <= 0
    or a.late_fee < 0
    or a.late_fee <> coalesce(f.late_fee, 0)
