-- ESTIMATE (测算, not a benefit decision) of the monthly basic pension at the statutory
-- retirement month, State Council 2005 No. 38 (docs/domain.md section 3):
--   basic part   = (C + C x I) / 2 x N x 1 %     account part = account balance / 计发月数
-- Assumptions (also in the YAML description): the latest paid pension month's base and
-- personal contribution continue every month from the later of the month after it and the
-- as_of month up to the month before retirement; C is the region's latest published benefit
-- base (no growth); the monthly contribution index is base / that year's benefit base (the
-- nearest published year when that year has none); the projected account earns no further
-- interest; transitional pension (过渡性养老金) and deemed years (视同缴费) are not included.
with

insured_months as (

    select * from {{ ref('int_person_insured_months') }}

),

pension_benefit_bases as (

    select * from {{ ref('pension_benefit_bases') }}

),

pension_account as (

    select * from {{ ref('rpt_pension_account') }}

),

retirement_due as (

    select * from {{ ref('rpt_retirement_due') }}

),

units as (

    select * from {{ ref('dim_units') }}

),

annuity_divisors as (

    select * from {{ ref('int_annuity_divisors_by_month') }}

),

pension_months as (
    -- the pension months insured (int_person_insured_months: ledger months paid and migrated
    -- months, each once); a migrated month's index uses its spell's base
    select
        im.person_id,
        im.fee_month,
        im.fee_year,
        im.region_code,
        im.personal_base
    from insured_months as im
    where im.is_pension
),

credits as (
    -- the personal credit of the latest ledger month continues until retirement
    select
        pm.person_id,
        pm.fee_month,
        sum(pm.personal_amount) as personal_amount
    from {{ ref('fct_person_months') }} as pm
    inner join insured_months as im
        on
            pm.person_id = im.person_id
            and pm.insurance_type = im.insurance_type
            and pm.fee_period = im.fee_period
    where im.is_pension and not im.is_migrated and pm.is_due and pm.is_insurance_month_paid
    group by pm.person_id, pm.fee_month
),

bases as (
    select
        region_code,
        cast(year as integer) as year,
        cast(benefit_base as decimal(18, 2)) as benefit_base,
        -- a base holds from its year until the region's next one (an as-of lookup)
        cast(lead(year) over (partition by region_code order by year) as integer) as next_year
    from pension_benefit_bases
),

first_bases as (
    select
        region_code,
        min_by(benefit_base, year) as benefit_base
    from bases
    group by region_code
),

indexed as (
    select
        m.*,
        coalesce(b.benefit_base, fb.benefit_base) as month_benefit_base,
        {{ div_half_up('m.personal_base', 'coalesce(b.benefit_base, fb.benefit_base)', 4) }} as month_index,
        row_number() over (partition by m.person_id order by m.fee_month desc) as recency
    from pension_months as m
    left join bases as b
        on
            m.region_code = b.region_code and m.fee_year >= b.year
            and (b.next_year is null or m.fee_year < b.next_year)
    left join first_bases as fb on m.region_code = fb.region_code
),

history as (
    select
        person_id,
        cast(count(*) as integer) as months_to_date,
        sum(month_index) as index_sum,
        max(fee_month) as last_paid_month
    from indexed
    group by person_id
),

latest as (
    select
        i.person_id,
        i.region_code,
        i.personal_base,
        c.personal_amount,
        i.month_index
    from indexed as i
    left join credits as c on i.person_id = c.person_id and i.fee_month = c.fee_month
    where i.recency = 1
),

balances as (
    select
        person_id,
        max_by(closing_balance, year) as account_balance
    from pension_account
    group by person_id
),

people as (
    select
        d.person_id,
        d.unit_id,
        coalesce(l.region_code, u.region_code) as region_code,
        d.retirement_group,
        d.statutory_age_months,
        d.statutory_age_label,
        d.retirement_month,
        d.required_months,
        coalesce(h.months_to_date, 0) as months_to_date,
        h.last_paid_month,
        l.personal_base as current_base,
        l.personal_amount as current_monthly_credit,
        coalesce(h.index_sum, 0) as index_sum,
        coalesce(l.month_index, 0) as current_index,
        coalesce(bal.account_balance, 0) as account_balance,
        cast(greatest(
            {{ months_between_starts(
                'greatest(' ~ add_months('h.last_paid_month', 1) ~ ', ' ~ as_of_month() ~ ')',
                'd.retirement_month'
            ) }},
            0
        ) as integer) as projected_remaining_months
    from retirement_due as d
    left join history as h on d.person_id = h.person_id
    left join latest as l on d.person_id = l.person_id
    left join balances as bal on d.person_id = bal.person_id
    left join units as u on d.unit_id = u.unit_id
),

projected as (
    select
        p.*,
        case when p.last_paid_month is null then 0 else p.projected_remaining_months end as remaining_months,
        rb.benefit_base
    from people as p
    left join bases as rb
        on
            p.region_code = rb.region_code and year(p.retirement_month) >= rb.year
            and (rb.next_year is null or year(p.retirement_month) < rb.next_year)
),

computed as (
    select
        pr.*,
        pr.months_to_date + pr.remaining_months as projected_months,
        case when pr.months_to_date + pr.remaining_months > 0 then
            {{ div_half_up('pr.index_sum + pr.current_index * pr.remaining_months',
                           'pr.months_to_date + pr.remaining_months', 4) }}
        end as average_index,
        cast(
            pr.account_balance + coalesce(pr.current_monthly_credit, 0) * pr.remaining_months
            as decimal(18, 2)
        ) as projected_account_balance,
        dv.divisor_months
    from projected as pr
    left join annuity_divisors as dv on pr.statutory_age_months = dv.age_months
),

parts as (
    select
        c.*,
        {{ div_half_up('c.projected_months', '12', 2) }} as contribution_years,
        {{ div_half_up('c.benefit_base * (1 + c.average_index) * c.projected_months', '2400', 2) }} as basic_pension,
        {{ div_half_up('c.projected_account_balance * 10', 'c.divisor_months * 10', 2) }} as account_pension
    from computed as c
),

final as (

    select
        person_id,
        unit_id,
        region_code,
        retirement_group,
        statutory_age_months,
        statutory_age_label,
        retirement_month,
        cast(months_to_date as integer) as contribution_months_to_date,
        cast(remaining_months as integer) as projected_remaining_months,
        cast(projected_months as integer) as projected_contribution_months,
        contribution_years as projected_contribution_years,
        required_months,
        projected_months >= required_months as meets_minimum,
        cast(current_base as decimal(18, 2)) as current_base,
        cast(average_index as decimal(18, 4)) as average_contribution_index,
        benefit_base,
        basic_pension,
        cast(account_balance as decimal(18, 2)) as current_account_balance,
        projected_account_balance,
        cast(divisor_months as decimal(18, 1)) as annuity_divisor_months,
        account_pension,
        cast(basic_pension + account_pension as decimal(18, 2)) as estimated_monthly_pension,
        true as is_estimate
    from parts

)

select * from final
