with

source as (

    select * from {{ source('shebao', 'load_files') }}

),

renamed as (

    select
        ---------- ids
        cast(file_hash as string) as file_hash,
        cast(load_id as string) as load_id,

        ---------- file
        cast(source as string) as source_name,
        cast(source_file as string) as source_file,
        cast(logical_name as string) as logical_name,
        cast(version as integer) as file_version,
        cast(replaced_by as string) as replaced_by,

        ---------- outcome
        cast(status as string) as status,
        cast(error as string) as error,
        cast(rows_read as integer) as rows_read,
        cast(rows_loaded as integer) as rows_loaded,
        cast(rows_quarantined as integer) as rows_quarantined,
        cast(rows_skipped as integer) as rows_skipped,
        cast(coalesce(rows_held, 0) as integer) as rows_held,

        ---------- when
        cast(loaded_at as timestamp) as loaded_at

    from source

)

select * from renamed
