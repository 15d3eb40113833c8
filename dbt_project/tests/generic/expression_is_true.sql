{#
    Fails for each row where the boolean SQL expression is not true (false or null),
    e.g. an accounting identity. Usage (model or column level):
        data_tests:
          - expression_is_true:
              arguments:
                expression: "total_amount = personal_amount + unit_amount"
#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
