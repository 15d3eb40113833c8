{#
    The arrival rate (到账率) per fee period for the dashboard overview: the money that
    arrived against the money due on every line of the period, as a percentage rounded
    half-up to 0.01, with the staff and units that have lines in it.
#}

with

contributions as (

    select * from {{ ref('fct_contributions') }}

),

periods as (

    select
        fee_period,
        min(fee_month) as fee_month,
        cast(count(distinct person_id) as integer) as person_count,
        cast(count(distinct unit_id) as integer) as unit_count,
        coalesce(sum(total_amount), 0) as amount_due,
        coalesce(sum(paid_amount), 0) as amount_paid
    from contributions
    group by fee_period

),

final as (

    select
        fee_period,
        fee_month,
        person_count,
        unit_count,
        cast(amount_due as decimal(18, 2)) as amount_due,
        cast(amount_paid as decimal(18, 2)) as amount_paid,
        case
            when amount_due <> 0
                then cast(
                        {{ round_half_up('cast(amount_paid as decimal(38, 10)) * 100 / amount_due') }} as decimal(9, 2)
                    )
        end as arrival_rate
    from periods

)

select * from final
