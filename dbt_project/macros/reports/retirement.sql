{#
  Flexible retirement window (弹性退休, 2024-09-13 decision, 办法 第三条): at most this many
  months before or after the statutory retirement month. The reference seeds carry no column
  for it yet (asked the seed owner to add one to retirement_reform_groups); until then this is
  the single place the figure lives.
#}
{% macro flexible_retirement_window_months() -%}
36
{%- endmacro %}

{# Statutory age in months as Chinese text: 722 -> 60岁2个月, 720 -> 60岁. #}
{% macro age_months_label(months) -%}
case when {{ months }} is null then null
     when {{ months }} % 12 = 0 then concat(cast({{ int_div(months, 12) }} as string), '岁')
     else concat(cast({{ int_div(months, 12) }} as string), '岁', cast({{ months }} % 12 as string), '个月')
end
{%- endmacro %}


