-- Fails when a report mart has two rows for one key of its documented grain.
select 'fct_arrears' as mart, unit_id || '|' || fee_period || '|' || insurance_type as grain_key
from {{ ref('fct_arrears') }} group by all having count(*) > 1
union all
select 'rpt_rights_statement', person_id || '|' || statement_period || '|' || insurance_type
from {{ ref('rpt_rights_statement') }} group by all having count(*) > 1
union all
select 'rpt_unit_contribution_summary', unit_id || '|' || fee_period || '|' || insurance_type
from {{ ref('rpt_unit_contribution_summary') }} group by all having count(*) > 1
union all
select 'rpt_payment_notice_lines', unit_id || '|' || notice_key || '|' || fee_period || '|' || insurance_type || '|' || contribution_type
from {{ ref('rpt_payment_notice_lines') }} group by all having count(*) > 1
union all
select 'rpt_pension_account', person_id || '|' || cast(year as varchar)
from {{ ref('rpt_pension_account') }} group by all having count(*) > 1
union all
select 'rpt_retirement_due', person_id
from {{ ref('rpt_retirement_due') }} group by all having count(*) > 1
union all
select 'rpt_pension_estimate', person_id
from {{ ref('rpt_pension_estimate') }} group by all having count(*) > 1
