{#
    Money rules (docs/domain.md section 3): amounts are DECIMAL(18,2), rounded half-up to
    the fen. Written out explicitly instead of relying on the engine's ROUND so the rule
    is visible and unit-tested (half-up; a negative amount, e.g. a 退收 refund, rounds
    symmetrically, i.e. half away from zero).
#}

{% macro round_half_up(expression, scale=2) -%}
    {%- set factor = '1' ~ ('0' * scale) -%}
    {%- set step = ('0.' ~ ('0' * (scale - 1)) ~ '1') if scale > 0 else '1' -%}
    cast(
        cast(sign({{ expression }}) as integer)
        * cast(floor(abs({{ expression }}) * {{ factor }} + 0.5) as decimal(38, 0))
        * {{ step }}
        as decimal(18, {{ scale }})
    )
{%- endmacro %}


{#
    Amount due on a line: round_half_up(base x rate) when the item is a rate, else the
    fixed monthly amount (大额医疗费用补助 5 yuan), else 0 when the region's rate row
    exists but this side pays nothing. Null only when no rate row was found.
#}
{% macro expected_amount(base, rate, fixed_amount, rate_row_found) -%}
    case
        when not {{ rate_row_found }} then null
        when {{ fixed_amount }} is not null then cast({{ fixed_amount }} as decimal(18, 2))
        when {{ rate }} is not null then {{ round_half_up(base ~ ' * ' ~ rate) }}
        else cast(0 as decimal(18, 2))
    end
{%- endmacro %}


{#
    Contribution base rounded to the region's unit in yuan, half-up
    (regions.base_rounding_unit: Hubei 10, so 8888 -> 8890; Jiangsu 1).
    Integer arithmetic on fen so no float is involved.
#}
{% macro round_base_to_unit(base, unit) -%}
    cast(
        cast(sign({{ base }}) as integer)
        * {{ int_div(
            'cast(abs(' ~ base ~ ') * 100 as ' ~ int128_type() ~ ') + cast(' ~ unit ~ ' as ' ~ int128_type() ~ ') * 50',
            'cast(' ~ unit ~ ' as ' ~ int128_type() ~ ') * 100'
        ) }}
        * cast({{ unit }} as {{ int128_type() }})
        as decimal(18, 2)
    )
{%- endmacro %}
