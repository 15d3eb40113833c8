-- Fails when a birth month 1940-01..2015-12 lacks a row for a retirement group, or has two:
-- the retirement-age query must answer every birth month of every group exactly once.
with expected as (
    select
        b.birth_month,
        g.retirement_group
    from {{ ref('int_birth_months') }} as b
    cross join {{ ref('retirement_reform_groups') }} as g
),

actual as (
    select
        birth_month,
        retirement_group,
        count(*) as n
    from {{ ref('dim_retirement_age_rules') }}
    group by all
)

select
    e.birth_month,
    e.retirement_group,
    a.n
from expected as e
left join actual as a on e.birth_month = a.birth_month and e.retirement_group = a.retirement_group
where a.n is distinct from 1
