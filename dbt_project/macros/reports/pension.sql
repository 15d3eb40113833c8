{#
  Yearly interest on the pension personal account (annual-crediting convention, docs/domain.md
  section 3): opening balance x rate + the year's credits x rate x 1.083 / 12, half-up to the
  fen. 1.083 / 12 = 0.09025 exactly, written as a multiplication so no float is involved.
#}
{% macro pension_account_interest(opening, credits, rate, migrated_weight=none) -%}
{%- if migrated_weight is none -%}
{{ round_half_up(
    'cast(' ~ opening ~ ' as decimal(38, 2)) * cast(' ~ rate ~ ' as decimal(12, 6))'
    ~ ' + cast(' ~ credits ~ ' as decimal(38, 2)) * cast(' ~ rate ~ ' as decimal(12, 6)) * cast(0.09025 as decimal(6, 5))'
) }}
{%- else -%}
{#- the same rule x 12, plus a migrated balance x rate x its months after the cut-off (the
    weight), then / 12 half-up; x 100000 keeps the exact numerator within 6 decimals -#}
{{ div_half_up(
    'cast(12 * cast(' ~ opening ~ ' as decimal(18, 2)) * cast(' ~ rate ~ ' as decimal(9, 6))'
    ~ ' + cast(' ~ credits ~ ' as decimal(18, 2)) * cast(' ~ rate ~ ' as decimal(9, 6)) * cast(1.083 as decimal(4, 3))'
    ~ ' + cast(' ~ migrated_weight ~ ' as decimal(18, 2)) * cast(' ~ rate ~ ' as decimal(9, 6)) as decimal(38, 11)) * 100000',
    '1200000', 2
) }}
{%- endif -%}
{%- endmacro %}

{#
  numerator / denominator rounded half-up to `scale` decimals with exact integer arithmetic
  (DuckDB's decimal division returns DOUBLE). Operands: DECIMAL or INTEGER with at most 6
  decimals; denominator positive.
#}
{% macro div_half_up(numerator, denominator, scale=2) -%}
{%- set step = ('0.' ~ ('0' * (scale - 1)) ~ '1') if scale > 0 else '1' -%}
cast(
    cast(
        cast(sign({{ numerator }}) as integer)
        * {{ int_div(
            'cast(cast(abs(' ~ numerator ~ ') as decimal(38, 6)) * 1000000 as ' ~ int128_type() ~ ') * ' ~ (10 ** scale) ~ ' * 2'
            ~ ' + cast(cast(' ~ denominator ~ ' as decimal(38, 6)) * 1000000 as ' ~ int128_type() ~ ')',
            'cast(cast(' ~ denominator ~ ' as decimal(38, 6)) * 1000000 as ' ~ int128_type() ~ ') * 2'
        ) }}
        as decimal(30, 0)
    ) * {{ step }}
    as decimal(18, {{ scale }})
)
{%- endmacro %}
