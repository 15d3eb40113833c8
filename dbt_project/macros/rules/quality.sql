{#
    The one amount tolerance of the soft findings (docs/domain.md section 2): an amount that
    differs from round_half_up(base x rate) by more than this many yuan is reported. Its value
    is the project var amount_tolerance (dbt_project.yml), which the GX soft suite reads too.
#}
{% macro amount_tolerance() -%}
    {{ var('amount_tolerance') }}
{%- endmacro %}

{#
    A quarantined raw value may be a (bad) ID number: never show it whole. A value that is
    an ID-like run of 15-18 digits (last may be X) is masked as an ID number (mask_id_number,
    first 4 and last 4); such a run inside longer text is masked the same way.
#}
{% macro mask_id_like(expression) -%}
    case
        when {{ regex_full_match('trim(' ~ expression ~ ')', '[0-9]{14,17}[0-9Xx]') }}
            then {{ mask_id_number('trim(' ~ expression ~ ')') }}
        else {{ regex_replace_all(expression, '([0-9]{4})[0-9Xx]{7,10}([0-9Xx]{4})', '\\1**********\\2') }}
    end
{%- endmacro %}
