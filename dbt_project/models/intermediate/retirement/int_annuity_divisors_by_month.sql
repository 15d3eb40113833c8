-- 计发月数 for every retirement age in months: the annuity_divisors value at whole ages,
-- linear interpolation by month between neighbouring seed ages, rounded half-up to one
-- decimal (60岁1个月 = 139 - 7 x 1/12 = 138.4).
with

annuity_divisors as (

    select * from {{ ref('annuity_divisors') }}

),

divisors as (

    select
        cast(retirement_age_years as integer) as age_years,
        cast(divisor_months as integer) as divisor_months,
        lead(cast(retirement_age_years as integer)) over (order by retirement_age_years) as next_age_years,
        lead(cast(divisor_months as integer)) over (order by retirement_age_years) as next_divisor_months
    from annuity_divisors

),

spans as (

    select
        divisors.*,
        (divisors.next_age_years - divisors.age_years) * 12 as span_months
    from divisors
    where divisors.next_age_years is not null

),

interpolated as (

    select
        spans.age_years * 12 + month_offsets.k as age_months,
        {{ div_half_up(
            'spans.divisor_months * spans.span_months - (spans.divisor_months - spans.next_divisor_months) * month_offsets.k',
            'spans.span_months', 1) }} as divisor_months
    from spans
    {{ cross_join_series('0', 'spans.span_months', 'month_offsets', 'k') }}

),

last_age as (

    select
        age_years * 12 as age_months,
        cast(divisor_months as decimal(18, 1)) as divisor_months
    from divisors
    where next_age_years is null

),

final as (

    select
        cast(age_months as integer) as age_months,
        divisor_months
    from interpolated
    union all
    select
        cast(age_months as integer) as age_months,
        divisor_months
    from last_age

)

select * from final
