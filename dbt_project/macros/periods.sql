{#
    Fee period (费款所属期) helpers: a fee period is text 'YYYYMM'; the month it
    stands for is the DATE of its first day. One place for the conversions.
#}

{% macro fee_period_to_month(fee_period) -%}
    make_date(cast(substr({{ fee_period }}, 1, 4) as integer), cast(substr({{ fee_period }}, 5, 2) as integer), 1)
{%- endmacro %}

{% macro month_to_fee_period(month_date) -%}
    cast(year(cast({{ month_date }} as date)) * 100 + month(cast({{ month_date }} as date)) as string)
{%- endmacro %}

{% macro fee_period_year(fee_period) -%}
    cast(substr({{ fee_period }}, 1, 4) as integer)
{%- endmacro %}

{#- First day of the month of any date. -#}
{% macro month_start(date_expression) -%}
    cast(date_trunc('month', cast({{ date_expression }} as date)) as date)
{%- endmacro %}
