with

source as (

    select * from {{ source('shebao', 'enrolments') }}

),

renamed as (

    select
        ---------- ids
        cast(person_id as varchar) as person_id,
        cast(unit_id as varchar) as unit_id,
        cast(insurance_type as varchar) as insurance_type,

        ---------- periods (YYYYMM)
        cast(start_period as varchar) as start_period,
        nullif(trim(cast(end_period as varchar)), '') as end_period,

        ---------- attributes
        cast(status as varchar) as status,
        cast(change_reason as varchar) as change_reason,

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
