-- Fails when a late fee is charged on an insurance without one (housing fund), when a row
-- has neither outstanding money nor late money, or when days overdue are not positive.
select
    unit_id,
    fee_period,
    insurance_type
from {{ ref('fct_arrears') }}
where (not has_late_fee and late_fee <> 0)
    or (outstanding = 0 and late_paid_amount = 0)
    or days_overdue <= 0
    or late_fee < 0
