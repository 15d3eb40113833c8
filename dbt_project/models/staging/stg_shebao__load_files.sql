{# The loader owns this table's shape (one row per landing file seen); passed through as is. #}
select * from {{ source('shebao', 'load_files') }}
