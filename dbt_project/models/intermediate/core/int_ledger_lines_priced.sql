{#
    Each current ledger line with the rates in force for its region, year and
    insurance (insurance_types.rate_by_risk_class: the unit's risk class) and the amounts those rates give:
    round_half_up(base x rate, 2) per side, or the fixed monthly amount. Refund lines
    (contribution_types.is_refund, 退收) carry negative amounts, so their expected amounts are negated.
#}
with

lines as (

    select * from {{ ref('int_ledger_lines_current') }}

),

units as (

    select * from {{ ref('int_units_current') }}

),

rates as (

    select * from {{ ref('contribution_rates') }}

),

work_injury_rates as (

    select * from {{ ref('work_injury_rates') }}

),

insurance_types as (

    select * from {{ ref('insurance_types') }}

),

contribution_types as (

    select * from {{ ref('contribution_types') }}

),

joined as (

    select
        lines.*,
        rates.region_code is not null as rate_row_found,
        case
            when coalesce(insurance_types.rate_by_risk_class, false)
                then coalesce(rates.unit_rate, work_injury_rates.base_rate)
            else rates.unit_rate
        end as raw_unit_rate,
        rates.personal_rate as raw_personal_rate,
        rates.unit_fixed_amount,
        rates.personal_fixed_amount,
        case when coalesce(contribution_types.is_refund, false) then -1 else 1 end as amount_sign

    from lines
    left join units
        on lines.unit_id = units.unit_id
    left join rates
        on lines.region_code = rates.region_code
            and lines.fee_year = rates.year
            and lines.insurance_type = rates.insurance_type
    left join work_injury_rates
        on units.risk_class = work_injury_rates.risk_class
    left join insurance_types
        on lines.insurance_type = cast(insurance_types.insurance_type as string)
    left join contribution_types
        on lines.contribution_type = contribution_types.contribution_type

),

priced as (

    select
        {{ star_except(['raw_unit_rate', 'raw_personal_rate']) }},
        cast(case when rate_row_found then coalesce(raw_unit_rate, 0) end as decimal(9, 6))
            as unit_rate,
        cast(case when rate_row_found then coalesce(raw_personal_rate, 0) end as decimal(9, 6))
            as personal_rate,
        cast(
            amount_sign
            * {{ expected_amount('personal_base', 'raw_personal_rate', 'personal_fixed_amount', 'rate_row_found') }}
            as decimal(18, 2)
        ) as expected_personal_amount,
        cast(
            amount_sign
            * {{ expected_amount('unit_base', 'raw_unit_rate', 'unit_fixed_amount', 'rate_row_found') }}
            as decimal(18, 2)
        ) as expected_unit_amount

    from joined

),

final as (

    select {{ star_except(['amount_sign']) }} from priced

)

select * from final
