{#
    Quarantined input rows that still count (their file version has not been superseded
    by a corrected file), one row per row and failing field, with the landing source's
    Chinese name and the reason's category (int_quarantine_classified, seed quality_reasons).
    Raw values and the messages quoting them are masked where they look like an ID number
    (never a full ID number in the serving copy); the whole raw record stays in the warehouse.
#}

with

quarantine as (

    select * from {{ ref('int_quarantine_classified') }}

),

sources as (

    select * from {{ ref('landing_sources') }}

),

-- the page shows Chinese only: the field by the label the reason names, the reason without
-- the English column names the loader puts beside the labels ("字段“证件号码”(id_number)")
labelled as (

    select
        *,
        coalesce(
            nullif(regexp_extract(reason, '字段“([^”]+)”', 1), ''),
            case when reason like '%重复记录%' then '自然键' end,
            field
        ) as field_label,
        {{ regex_replace_all('reason', '”[(][A-Za-z_,]+[)]', '”') }} as reason_chinese
    from quarantine

),

final as (

    select
        quarantine.source_name,
        coalesce(sources.source_label, quarantine.source_name) as source_label,
        quarantine.source_file,
        quarantine.source_row,
        quarantine.field,
        quarantine.field_label,
        {{ mask_id_like('quarantine.value') }} as value_masked,
        {{ mask_id_like('quarantine.reason_chinese') }} as reason,
        quarantine.reason_code,
        quarantine.reason_label,
        quarantine.reason_category,
        quarantine.category_label,
        quarantine.load_id,
        quarantine.quarantined_at
    from labelled as quarantine
    left join sources on quarantine.source_name = sources.source_name

)

select * from final
