{#
    Quarantined rows counted by reason category and reason (数据质量 page): one row per
    landing source and reason code with its Chinese labels, the rows and files it covers.
    Categories and labels come from seed quality_reasons through int_quarantine_classified.
#}

with

quarantine as (

    select * from {{ ref('int_quarantine_classified') }}

),

sources as (

    select * from {{ ref('landing_sources') }}

),

grouped as (

    select
        source_name,
        reason_category,
        category_label,
        category_order,
        reason_code,
        reason_label,
        reason_order,
        cast(count(*) as integer) as row_count,
        cast(count(distinct source_file) as integer) as file_count
    from quarantine
    group by source_name, reason_category, category_label, category_order, reason_code, reason_label, reason_order

),

final as (

    select
        grouped.source_name,
        coalesce(sources.source_label, grouped.source_name) as source_label,
        cast(coalesce(sources.sort_order, 999) as integer) as source_order,
        grouped.reason_category,
        grouped.category_label,
        grouped.category_order,
        grouped.reason_code,
        grouped.reason_label,
        grouped.reason_order,
        grouped.row_count,
        grouped.file_count
    from grouped
    left join sources on grouped.source_name = sources.source_name

)

select * from final
