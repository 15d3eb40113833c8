{#
  Chinese capital numerals (大写金额) for a yuan amount, as printed on the payment notice
  (seed 004: 105293.98 -> 壹拾万伍仟贰佰玖拾叁圆玖角捌分, 173436.30 -> 壹拾柒万叁仟肆佰叁拾陆圆叁角整).
  Pure SQL expression so it runs inside any model; handles up to 9999万亿 yuan, negatives (负).
  Zero rule: 零 before a non-zero digit whose next-higher digit is zero and some higher digit
  is non-zero, except at a group's 仟 position when the group above is non-zero
  (105293 -> 壹拾万伍仟..., 100500 -> 壹拾万零伍佰, 100005000 -> 壹亿零伍仟).
#}
{% macro cny_capital(amount) -%}
{%- set fen_total = "cast(round(abs(cast(" ~ amount ~ " as decimal(18,2))) * 100, 0) as bigint)" -%}
{%- set s = "lpad(cast(" ~ int_div(fen_total, 100) ~ " as string), 16, '0')" -%}
{#- digit d as a capital numeral: substr of this text (list literals are DuckDB-only) -#}
{%- set digits = "'零壹贰叁肆伍陆柒捌玖'" -%}
{%- set units = ['', '拾', '佰', '仟'] -%}
{%- set groups = {4: '万', 8: '亿', 12: '万'} -%}
case when {{ amount }} is null then null else
concat(
  case when cast({{ amount }} as decimal(18,2)) < 0 then '负' else '' end,
  {%- for p in range(15, -1, -1) %}
  {%- set pos = 16 - p %}
  case when substr({{ s }}, {{ pos }}, 1) <> '0' then
    concat(
      {%- if p < 15 %}
      case when substr({{ s }}, {{ pos - 1 }}, 1) = '0'
                and replace(substr({{ s }}, 1, {{ pos - 1 }}), '0', '') <> ''
                {%- if p % 4 == 3 %}
                and substr({{ s }}, {{ pos - 4 }}, 4) = '0000'
                {%- endif %}
           then '零' else '' end,
      {%- endif %}
      substr({{ digits }}, cast(substr({{ s }}, {{ pos }}, 1) as integer) + 1, 1),
      '{{ units[p % 4] }}'
    )
  else '' end,
  {%- if p in groups %}
  {%- if p == 8 %}
  case when substr({{ s }}, 1, 8) <> '00000000' then '亿' else '' end,
  {%- else %}
  case when substr({{ s }}, {{ pos - 3 }}, 4) <> '0000' then '{{ groups[p] }}' else '' end,
  {%- endif %}
  {%- endif %}
  {%- endfor %}
  case when {{ int_div(fen_total, 100) }} > 0 then '圆' else '' end,
  case
    when {{ fen_total }} = 0 then '零圆整'
    when {{ fen_total }} % 100 = 0 then '整'
    when ({{ int_div(fen_total, 10) }}) % 10 = 0 then
      concat(case when {{ int_div(fen_total, 100) }} > 0 then '零' else '' end,
             substr({{ digits }}, cast({{ fen_total }} % 10 as integer) + 1, 1), '分')
    when {{ fen_total }} % 10 = 0 then
      concat(substr({{ digits }}, cast(({{ int_div(fen_total, 10) }}) % 10 as integer) + 1, 1), '角整')
    else
      concat(substr({{ digits }}, cast(({{ int_div(fen_total, 10) }}) % 10 as integer) + 1, 1), '角',
             substr({{ digits }}, cast({{ fen_total }} % 10 as integer) + 1, 1), '分')
  end
) end
{%- endmacro %}
