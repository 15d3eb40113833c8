{#
    Custom schemas are used as they are (staging, intermediate, marts, reference), not
    prefixed with the target schema (dbt's default would give main_marts): readers,
    certificates and dashboards address the warehouse by these fixed schema names.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
