-- Pension personal account (个人账户) per person and year: opening balance, the balance
-- migrated with the legacy history (entered in its cut-off month), credits (the personal
-- pension contributions of the year that have arrived, by fee year; int_pension_account_credits
-- holds the crediting rule), interest at the year's credited_interest_rates rate (opening x
-- rate + credits x rate x 1.083 / 12 + migrated x rate x months after the cut-off / 12,
-- half-up to the fen each year) and closing balance. Years run from the first year with a
-- movement to the later of the last one and the year before as_of. A year without a
-- published rate earns no interest and shows credited_rate null. Not incremental: each
-- year's opening is the previous year's closing.
{% set first_interest = pension_account_interest('0', 'py.credits', 'py.credited_rate', 'py.migrated_month_weight') %}
{%- set next_interest = pension_account_interest(
    'a.closing_balance', 'py.credits', 'py.credited_rate', 'py.migrated_month_weight'
) %}

with recursive

account_credits as (

    select * from {{ ref('int_pension_account_credits') }}

),

credited_interest_rates as (

    select * from {{ ref('credited_interest_rates') }}

),

credits as (

    select
        ac.person_id,
        ac.fee_year as year,
        sum(ac.credits) as credits,
        sum(ac.migrated_balance) as migrated_balance,
        sum(ac.migrated_month_weight) as migrated_month_weight
    from account_credits as ac
    group by ac.person_id, ac.fee_year

),

spans as (
    select
        person_id,
        min(year) as first_year,
        greatest(max(year), year({{ as_of_date() }}) - 1) as last_year
    from credits
    group by person_id
),

person_years as (
    select
        s.person_id,
        cast(y.year as integer) as year,
        cast(coalesce(c.credits, 0) as decimal(18, 2)) as credits,
        cast(coalesce(c.migrated_balance, 0) as decimal(18, 2)) as migrated_balance,
        cast(coalesce(c.migrated_month_weight, 0) as decimal(18, 2)) as migrated_month_weight,
        r.credited_rate
    from spans as s
    {{ cross_join_series('s.first_year', 's.last_year + 1', 'y', 'year') }}
    left join credits as c on s.person_id = c.person_id and y.year = c.year
    left join credited_interest_rates as r on y.year = cast(r.year as integer)
),

account (
    person_id, year, opening_balance, migrated_balance, credits, credited_rate, interest, closing_balance
) as (
    select
        py.person_id,
        py.year,
        cast(0 as decimal(18, 2)),
        py.migrated_balance,
        py.credits,
        py.credited_rate,
        coalesce({{ first_interest }}, 0.00),
        cast(py.migrated_balance + py.credits + coalesce({{ first_interest }}, 0.00) as decimal(18, 2))
    from person_years as py
    inner join spans as s on py.person_id = s.person_id and py.year = s.first_year
    union all
    select
        py.person_id,
        py.year,
        a.closing_balance,
        py.migrated_balance,
        py.credits,
        py.credited_rate,
        coalesce({{ next_interest }}, 0.00),
        cast(
            a.closing_balance + py.migrated_balance + py.credits + coalesce({{ next_interest }}, 0.00)
            as decimal(18, 2)
        )
    from account as a
    inner join person_years as py on a.person_id = py.person_id and py.year = a.year + 1
),

final as (

    select
        person_id,
        year,
        cast(opening_balance as decimal(18, 2)) as opening_balance,
        cast(migrated_balance as decimal(18, 2)) as migrated_balance,
        cast(credits as decimal(18, 2)) as credits,
        cast(credited_rate as decimal(9, 6)) as credited_rate,
        cast(interest as decimal(18, 2)) as interest,
        cast(closing_balance as decimal(18, 2)) as closing_balance
    from account

)

select * from final
