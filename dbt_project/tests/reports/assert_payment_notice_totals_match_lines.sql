-- Fails when a notice's totals differ from the sum of its lines, or a line's total from its
-- columns: the notice's 核定征集总额 (and its capital numerals) must be the lines' sum to the fen.
with lines as (
    select
        unit_id,
        notice_key,
        sum(personal_amount) as personal_amount,
        sum(unit_amount) as unit_amount,
        sum(total_amount) as total_amount,
        bool_and(total_amount = personal_amount + unit_amount + interest + late_fee + other_amount) as lines_add_up
    from {{ ref('rpt_payment_notice_lines') }}
    group by all
)

select
    n.unit_id,
    n.notice_key
from {{ ref('rpt_payment_notices') }} as n
full join lines as l on n.unit_id = l.unit_id and n.notice_key = l.notice_key
where n.total_amount is distinct from l.total_amount
    or n.personal_amount is distinct from l.personal_amount
    or n.unit_amount is distinct from l.unit_amount
    or not coalesce(l.lines_add_up, false)
    or n.total_amount_capital is null
