{#
    Fee period (费款所属期) helpers: a fee period is VARCHAR 'YYYYMM'; the month it
    stands for is the DATE of its first day. One place for the conversions.
#}

{% macro fee_period_to_month(fee_period) -%}
    cast(strptime({{ fee_period }} || '01', '%Y%m%d') as date)
{%- endmacro %}

{% macro month_to_fee_period(month_date) -%}
    strftime(cast({{ month_date }} as date), '%Y%m')
{%- endmacro %}

{% macro fee_period_year(fee_period) -%}
    cast(substr({{ fee_period }}, 1, 4) as integer)
{%- endmacro %}

{#- First day of the month of any date. -#}
{% macro month_start(date_expression) -%}
    cast(date_trunc('month', cast({{ date_expression }} as date)) as date)
{%- endmacro %}
