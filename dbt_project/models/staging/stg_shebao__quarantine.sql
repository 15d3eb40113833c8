{# The loader owns this table's shape (file, row, field, Chinese reason); passed through as is. #}
select * from {{ source('shebao', 'quarantine') }}
