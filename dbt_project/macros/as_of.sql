{#
    The date arrears, ages and current enrolments are computed as of: var `as_of`
    (ISO YYYY-MM-DD; unit tests set it), else the environment variable SHEBAO_AS_OF (the
    pipeline sets it, so a new date does not invalidate dbt's partial parsing the way a
    changed --vars does), empty meaning today. Everything date-relative reads it here.
#}

{% macro as_of_date() -%}
    {%- set as_of = var('as_of', '') | string | trim -%}
    {%- if as_of in ('', 'None', 'none') -%}
        {%- set as_of = env_var('SHEBAO_AS_OF', '') | string | trim -%}
    {%- endif -%}
    {%- if as_of in ('', 'None', 'none') -%}
        current_date
    {%- else -%}
        {%- if not modules.re.match('^\d{4}-\d{2}-\d{2}$', as_of) -%}
            {{ exceptions.raise_compiler_error("var as_of must be YYYY-MM-DD or empty, got: " ~ as_of) }}
        {%- endif -%}
        date '{{ as_of }}'
    {%- endif -%}
{%- endmacro %}

{% macro as_of_month() -%}
    {{ month_start(as_of_date()) }}
{%- endmacro %}
