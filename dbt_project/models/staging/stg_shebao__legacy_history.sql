with

source as (

    select * from {{ source('shebao', 'legacy_history') }}

),

renamed as (

    select
        ---------- ids
        cast(person_id as string) as person_id,
        cast(insurance_type as string) as insurance_type,
        nullif(trim(cast(unit_id as string)), '') as unit_id,

        ---------- periods (YYYYMM) and length
        cast(start_period as string) as start_period,
        nullif(trim(cast(end_period as string)), '') as end_period,
        cast(month_count as integer) as month_count,

        ---------- attributes
        cast(name as string) as name,
        cast(unit_name as string) as unit_name,
        cast(region_code as string) as region_code,

        ---------- money (yuan)
        cast(base as decimal(18, 2)) as base,
        cast(account_balance as decimal(18, 2)) as account_balance,

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
