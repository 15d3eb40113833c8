{#
    Masking for display (docs/domain.md: an ID number shows its first 4 and last 4
    characters, 3205**********9916). Values too short to hide anything are fully masked.
#}

{% macro mask_text(expression, keep_start=4, keep_end=4) -%}
    case
        when {{ expression }} is null then null
        when length({{ expression }}) <= {{ keep_start + keep_end }}
            then repeat('*', length({{ expression }}))
        else
            left({{ expression }}, {{ keep_start }})
            || repeat('*', length({{ expression }}) - {{ keep_start + keep_end }})
            || right({{ expression }}, {{ keep_end }})
    end
{%- endmacro %}

{% macro mask_id_number(expression) -%}
    {{ mask_text(expression, 4, 4) }}
{%- endmacro %}

{#- Mobile numbers as commonly shown: 138****1234. -#}
{% macro mask_mobile(expression) -%}
    {{ mask_text(expression, 3, 4) }}
{%- endmacro %}
