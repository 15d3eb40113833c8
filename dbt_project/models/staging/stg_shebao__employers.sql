with

source as (

    select * from {{ source('shebao', 'employers') }}

),

renamed as (

    select
        ---------- ids
        cast(unit_id as varchar) as unit_id,
        cast(uscc as varchar) as uscc,

        ---------- attributes
        cast(unit_name as varchar) as unit_name,
        cast(unit_type as varchar) as unit_type,
        cast(region_code as varchar) as region_code,
        cast(risk_class as integer) as risk_class,
        cast(legal_representative as varchar) as legal_representative,
        cast(address as varchar) as address,
        cast(status as varchar) as status,

        ---------- dates
        cast(founded_date as date) as founded_date,

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
