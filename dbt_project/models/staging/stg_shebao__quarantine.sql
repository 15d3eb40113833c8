with

source as (

    select * from {{ source('shebao', 'quarantine') }}

),

renamed as (

    select
        ---------- where
        cast(source as varchar) as source_name,
        cast(source_file as varchar) as source_file,
        cast(source_row as integer) as source_row,
        cast(file_hash as varchar) as file_hash,
        cast(load_id as varchar) as load_id,

        ---------- what
        cast(field as varchar) as field,
        cast(value as varchar) as value,
        cast(reason as varchar) as reason,
        cast(record as varchar) as record,

        ---------- when
        cast(quarantined_at as timestamp) as quarantined_at,
        cast(superseded_at as timestamp) as superseded_at,
        superseded_at is not null as is_superseded

    from source

)

select * from renamed
