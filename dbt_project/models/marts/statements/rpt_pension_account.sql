-- Pension personal account (个人账户) per person and year: opening balance, credits (the
-- personal pension contributions of the year that have arrived, by fee year), interest at the
-- year's credited_interest_rates rate (opening x rate + credits x rate x 1.083 / 12, half-up
-- to the fen each year) and closing balance. Years run from the first credited year to the
-- later of the last credited year and the year before as_of. A year without a published
-- rate earns no interest and shows credited_rate null. Not incremental: each year's opening
-- is the previous year's closing.
with recursive

contributions as (

    select * from {{ ref('fct_contributions') }}

),

insurance_types as (

    select * from {{ ref('insurance_types') }}

),

credited_interest_rates as (

    select * from {{ ref('credited_interest_rates') }}

),

credits as (

    select
        c.person_id,
        c.fee_year as year,
        sum(c.personal_amount) as credits
    from contributions as c
    inner join insurance_types as it on c.insurance_type = it.insurance_type
    where it.is_pension and c.is_paid
    group by all

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
        r.credited_rate
    from spans as s
    {{ cross_join_series('s.first_year', 's.last_year + 1', 'y', 'year') }}
    left join credits as c on s.person_id = c.person_id and y.year = c.year
    left join credited_interest_rates as r on y.year = cast(r.year as integer)
),

account (person_id, year, opening_balance, credits, credited_rate, interest, closing_balance) as (
    select
        py.person_id,
        py.year,
        cast(0 as decimal(18, 2)),
        py.credits,
        py.credited_rate,
        coalesce({{ pension_account_interest('0', 'py.credits', 'py.credited_rate') }}, 0.00),
        cast(
            py.credits + coalesce({{ pension_account_interest('0', 'py.credits', 'py.credited_rate') }}, 0.00)
            as decimal(18, 2)
        )
    from person_years as py
    inner join spans as s on py.person_id = s.person_id and py.year = s.first_year
    union all
    select
        py.person_id,
        py.year,
        a.closing_balance,
        py.credits,
        py.credited_rate,
        coalesce({{ pension_account_interest('a.closing_balance', 'py.credits', 'py.credited_rate') }}, 0.00),
        cast(
            a.closing_balance + py.credits
            + coalesce({{ pension_account_interest('a.closing_balance', 'py.credits', 'py.credited_rate') }}, 0.00)
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
        cast(credits as decimal(18, 2)) as credits,
        cast(credited_rate as decimal(9, 6)) as credited_rate,
        cast(interest as decimal(18, 2)) as interest,
        cast(closing_balance as decimal(18, 2)) as closing_balance
    from account

)

select * from final
