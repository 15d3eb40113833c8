{#
    Per landing file version: what was read, loaded, quarantined and skipped (the counts
    reconcile: read = loaded + quarantined + skipped), with Chinese source and status
    labels, for the data-quality page.
#}

with

load_files as (

    select * from {{ ref('stg_shebao__load_files') }}

),

sources as (

    select * from {{ ref('landing_sources') }}

),

statuses as (

    select * from {{ ref('load_file_statuses') }}

),

final as (

    select
        load_files.source_name,
        coalesce(sources.source_label, load_files.source_name) as source_label,
        cast(coalesce(sources.sort_order, 999) as integer) as source_order,
        load_files.source_file,
        load_files.file_hash,
        load_files.file_version,
        load_files.status,
        coalesce(statuses.status_label, load_files.status) as status_label,
        coalesce(statuses.is_current, true) as is_current,
        load_files.rows_read,
        load_files.rows_loaded,
        load_files.rows_quarantined,
        load_files.rows_skipped,
        load_files.rows_held,
        load_files.error,
        load_files.loaded_at,
        load_files.replaced_by
    from load_files
    left join sources on load_files.source_name = sources.source_name
    left join statuses on load_files.status = statuses.status

)

select * from final
