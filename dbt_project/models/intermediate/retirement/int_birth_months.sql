-- The birth months dim_retirement_age_rules covers (first of month, 1940-01 to 2015-12), a
-- separate model so unit tests can feed chosen birth months to the rule.
with

final as (

    select cast(months.m as date) as birth_month
    from {{ month_series("date '1940-01-01'", "date '2016-01-01'", 'months', 'm') }}

)

select * from final
