with

source as (

    select * from {{ source('shebao', 'persons') }}

),

renamed as (

    select
        ---------- ids
        cast(person_id as string) as person_id,
        cast(id_type as string) as id_type,
        cast(id_number as string) as id_number,

        ---------- attributes
        cast(name as string) as name,
        cast(sex as string) as sex,
        cast(hukou_type as string) as hukou_type,
        cast(post_category as string) as post_category,
        cast(mobile as string) as mobile,

        ---------- dates
        cast(birth_date as date) as birth_date,
        cast(work_start_date as date) as work_start_date,

        ---------- lineage
        cast(source_file as string) as source_file,
        cast(source_row as integer) as source_row,
        cast(file_hash as string) as file_hash,
        cast(load_id as string) as load_id,
        cast(loaded_at as timestamp) as loaded_at,
        cast(superseded_at as timestamp) as superseded_at,
        superseded_at is not null as is_superseded

    from source

)

select * from renamed
