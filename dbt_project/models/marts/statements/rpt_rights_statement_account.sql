-- Pension personal account within a rights statement period (个人权益记录单, seed 001:
-- 1 July - 30 June in SZ_SIP), one row per person and statement period of
-- rpt_rights_statement:
--   opening  = the account at the period start: the opening balance of the year the period
--              starts in (rpt_pension_account; the previous closing when that year has no row)
--              plus that year's credits and migrated balance of months before the period start;
--   migrated = the balance migrated with the legacy history when its cut-off month falls in
--              the period (int_pension_account_credits, the one crediting rule);
--   credits  = personal pension contributions arrived for the fee months of the period
--              (after the cut-off for a person with migrated history);
--   interest = interest of the years that close (31 December) inside the period and are
--              closed as of as_of; a year still open earns nothing yet;
--   closing  = opening + migrated + credits + interest.
-- For a calendar-year period this is that year's row of rpt_pension_account.
with

statements as (

    select * from {{ ref('rpt_rights_statement') }}

),

pension_account as (

    select * from {{ ref('rpt_pension_account') }}

),

account_credits as (

    select * from {{ ref('int_pension_account_credits') }}

),

credited_interest_rates as (

    select * from {{ ref('credited_interest_rates') }}

),

periods as (

    select distinct
        person_id,
        statement_period,
        period_start,
        period_end,
        year(period_start) as start_year
    from statements

),

monthly_credits as (

    select
        person_id,
        fee_month,
        credits + migrated_balance as credits_before_start,
        credits,
        migrated_balance
    from account_credits

),

year_start as (

    -- the account on 1 January of the start year: its own opening, else the latest closing before
    select
        p.person_id,
        p.statement_period,
        coalesce(
            max(a.opening_balance) filter (where a.year = p.start_year),
            max_by(a.closing_balance, a.year) filter (where a.year < p.start_year),
            0
        ) as balance
    from periods as p
    left join pension_account as a on p.person_id = a.person_id and p.start_year >= a.year
    group by p.person_id, p.statement_period

),

credits as (

    select
        p.person_id,
        p.statement_period,
        coalesce(
            sum(m.credits_before_start) filter (
                where m.fee_month >= make_date(p.start_year, 1, 1) and m.fee_month < p.period_start
            ),
            0
        ) as credits_before,
        coalesce(
            sum(m.migrated_balance) filter (where m.fee_month between p.period_start and p.period_end), 0
        ) as migrated,
        coalesce(sum(m.credits) filter (where m.fee_month between p.period_start and p.period_end), 0) as credits
    from periods as p
    left join monthly_credits as m on p.person_id = m.person_id
    group by p.person_id, p.statement_period

),

interest as (

    select
        p.person_id,
        p.statement_period,
        sum(a.interest) as interest,
        max(a.year) as interest_year
    from periods as p
    inner join pension_account as a
        on
            p.person_id = a.person_id
            and make_date(a.year, 12, 31) between p.period_start and p.period_end
            and a.year < year({{ as_of_date() }})
    group by p.person_id, p.statement_period

),

final as (

    select
        p.person_id,
        p.statement_period,
        p.period_start,
        p.period_end,
        cast(y.balance + c.credits_before as decimal(18, 2)) as opening_balance,
        cast(c.migrated as decimal(18, 2)) as migrated_balance,
        cast(c.credits as decimal(18, 2)) as credits,
        cast(coalesce(i.interest, 0) as decimal(18, 2)) as interest,
        cast(
            y.balance + c.credits_before + c.migrated + c.credits + coalesce(i.interest, 0) as decimal(18, 2)
        ) as closing_balance,
        cast(i.interest_year as integer) as interest_year,
        cast(r.credited_rate as decimal(9, 6)) as credited_rate,
        coalesce(cast(r.is_demo_figure as boolean), false) as is_demo_rate
    from periods as p
    inner join year_start as y on p.person_id = y.person_id and p.statement_period = y.statement_period
    inner join credits as c on p.person_id = c.person_id and p.statement_period = c.statement_period
    left join interest as i on p.person_id = i.person_id and p.statement_period = i.statement_period
    left join credited_interest_rates as r on i.interest_year = cast(r.year as integer)

)

select * from final
