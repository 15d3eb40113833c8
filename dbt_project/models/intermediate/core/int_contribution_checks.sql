{#
    Inputs of the soft findings on each current ledger line (docs/domain.md section 2):
    amount differing from round_half_up(base x rate) by more than 0.01, base outside the
    year's published floor and cap, base neither rounded to the region's unit nor equal
    to the floor or cap. Only the
    sides that carry a rate are checked against the limits (a unit-only item says
    nothing about the personal base).
#}
with

lines as (

    select * from {{ ref('int_ledger_lines_priced') }}

),

insurance_types as (

    select * from {{ ref('insurance_types') }}

),

base_limits as (

    select * from {{ ref('base_limits') }}

),

regions as (

    select * from {{ ref('regions') }}

),

joined as (

    select
        lines.*,
        base_limits.base_floor,
        base_limits.base_cap,
        regions.base_rounding_unit,
        least(
            case when lines.personal_rate > 0 then lines.personal_base end,
            case when lines.unit_rate > 0 then lines.unit_base end
        ) as lowest_rated_base,
        greatest(
            case when lines.personal_rate > 0 then lines.personal_base end,
            case when lines.unit_rate > 0 then lines.unit_base end
        ) as highest_rated_base

    from lines
    left join insurance_types
        on lines.insurance_type = insurance_types.insurance_type
    left join base_limits
        on lines.region_code = base_limits.region_code
            and lines.fee_year = base_limits.year
            and insurance_types.insurance_group = base_limits.insurance_group
    left join regions
        on lines.region_code = regions.region_code

),

final as (

    select
        ledger_line_id,
        source_file,
        source_row,
        unit_id,
        person_id,
        region_code,
        fee_period,
        fee_year,
        insurance_type,
        contribution_type,
        personal_base,
        unit_base,
        personal_rate,
        unit_rate,
        personal_amount,
        unit_amount,
        expected_personal_amount,
        expected_unit_amount,
        cast(personal_amount - expected_personal_amount as decimal(18, 2)) as personal_amount_diff,
        cast(unit_amount - expected_unit_amount as decimal(18, 2)) as unit_amount_diff,
        coalesce(
            abs(personal_amount - expected_personal_amount) > {{ amount_tolerance() }}
            or abs(unit_amount - expected_unit_amount) > {{ amount_tolerance() }},
            false
        ) as amount_mismatch,
        base_floor,
        base_cap,
        coalesce(lowest_rated_base < base_floor, false) as base_below_floor,
        coalesce(highest_rated_base > base_cap, false) as base_above_cap,
        base_rounding_unit,
        {{ round_base_to_unit('personal_base', 'base_rounding_unit') }} as personal_base_rounded,
        {{ round_base_to_unit('unit_base', 'base_rounding_unit') }} as unit_base_rounded,
        -- A valid base is the wage rounded to the unit, then clamped to the published
        -- floor and cap (which need not be multiples of the unit, e.g. Hubei 3845).
        coalesce(
            (
                personal_base <> {{ round_base_to_unit('personal_base', 'base_rounding_unit') }}
                and personal_base not in (base_floor, base_cap)
            )
            or (
                unit_base <> {{ round_base_to_unit('unit_base', 'base_rounding_unit') }}
                and unit_base not in (base_floor, base_cap)
            ),
            false
        ) as base_not_rounded

    from joined

)

select * from final
