with

source as (

    select * from {{ source('shebao', 'enrolments') }}

),

renamed as (

    select
        ---------- ids
        cast(person_id as string) as person_id,
        cast(unit_id as string) as unit_id,
        cast(insurance_type as string) as insurance_type,

        ---------- periods (YYYYMM)
        cast(start_period as string) as start_period,
        nullif(trim(cast(end_period as string)), '') as end_period,

        ---------- attributes
        cast(status as string) as status,
        cast(change_reason as string) as change_reason,

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
