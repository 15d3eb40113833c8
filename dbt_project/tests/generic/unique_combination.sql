{#
    Fails for each combination of the given columns that occurs more than once
    (a multi-column key). Usage:
        data_tests:
          - unique_combination:
              arguments:
                columns: ['region_code', 'year']
#}
{% test unique_combination(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
