with

source as (

    select * from {{ source('shebao', 'quarantine') }}

),

renamed as (

    select
        ---------- where
        cast(source as string) as source_name,
        cast(source_file as string) as source_file,
        cast(source_row as integer) as source_row,
        cast(file_hash as string) as file_hash,
        cast(load_id as string) as load_id,

        ---------- what
        cast(field as string) as field,
        cast(value as string) as value,
        cast(reason as string) as reason,
        cast(record as string) as record,

        ---------- when
        cast(quarantined_at as timestamp) as quarantined_at,
        cast(superseded_at as timestamp) as superseded_at,
        superseded_at is not null as is_superseded

    from source

)

select * from renamed
