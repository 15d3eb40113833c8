with

source as (

    select * from {{ source('shebao', 'persons') }}

),

renamed as (

    select
        ---------- ids
        cast(person_id as varchar) as person_id,
        cast(id_type as varchar) as id_type,
        cast(id_number as varchar) as id_number,

        ---------- attributes
        cast(name as varchar) as name,
        cast(sex as varchar) as sex,
        cast(hukou_type as varchar) as hukou_type,
        cast(post_category as varchar) as post_category,
        cast(mobile as varchar) as mobile,

        ---------- dates
        cast(birth_date as date) as birth_date,
        cast(work_start_date as date) as work_start_date,

        ---------- lineage
        cast(source_file as varchar) as source_file,
        cast(source_row as integer) as source_row,
        cast(file_hash as varchar) as file_hash,
        cast(load_id as varchar) as load_id,
        cast(loaded_at as timestamp) as loaded_at,
        cast(superseded_at as timestamp) as superseded_at,
        superseded_at is not null as is_superseded

    from source

)

select * from renamed
