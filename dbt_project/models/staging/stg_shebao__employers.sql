with

source as (

    select * from {{ source('shebao', 'employers') }}

),

renamed as (

    select
        ---------- ids
        cast(unit_id as string) as unit_id,
        cast(uscc as string) as uscc,

        ---------- attributes
        cast(unit_name as string) as unit_name,
        cast(unit_type as string) as unit_type,
        cast(region_code as string) as region_code,
        cast(risk_class as integer) as risk_class,
        cast(legal_representative as string) as legal_representative,
        cast(address as string) as address,
        cast(status as string) as status,

        ---------- dates
        cast(founded_date as date) as founded_date,

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
