{#
    Quarantined input rows that still count (their file version not superseded), each with
    the reason code and category of its first failing field (seed quality_reasons): the
    problem text of the reason's first segment (before "，值为" and "；") is matched against
    the seed's match_text in sort_order; a reason no row of the seed matches is "other".
    The one place reasons are grouped: the 数据质量 page counts by these categories.
#}

with

quarantine as (

    select * from {{ ref('stg_shebao__quarantine') }}

),

quality_reasons as (

    select * from {{ ref('quality_reasons') }}

),

other as (

    select *
    from quality_reasons
    where reason_code = 'other'

),

current_rows as (

    select
        source_name,
        source_file,
        source_row,
        load_id,
        field,
        coalesce(field, '') as field_key,
        value,
        reason,
        quarantined_at,
        -- the first segment's problem: after the file and row prefix, before the value it quotes
        regexp_replace(
            regexp_replace(reason, '^文件 .*? 第[0-9]+行 ', ''),
            '(，值为“|；).*$',
            ''
        ) as problem
    from quarantine
    where not is_superseded

),

matches as (

    select
        c.source_file,
        c.source_row,
        c.load_id,
        c.field_key,
        r.reason_code,
        row_number() over (
            partition by c.source_file, c.source_row, c.load_id, c.field_key
            order by r.sort_order
        ) as match_rank
    from current_rows as c
    inner join quality_reasons as r
        on
            r.match_text is not null
            and c.problem like '%' || r.match_text || '%'

),

final as (

    select
        c.source_name,
        c.source_file,
        c.source_row,
        c.load_id,
        c.field,
        c.value,
        c.reason,
        c.problem,
        c.quarantined_at,
        coalesce(m.reason_code, 'other') as reason_code,
        coalesce(r.reason_label, other.reason_label) as reason_label,
        coalesce(r.category, other.category) as reason_category,
        coalesce(r.category_label, other.category_label) as category_label,
        cast(coalesce(r.category_order, other.category_order) as integer) as category_order,
        cast(coalesce(r.sort_order, other.sort_order) as integer) as reason_order
    from current_rows as c
    left join matches as m
        on
            c.source_file = m.source_file
            and c.source_row = m.source_row
            and c.load_id = m.load_id
            and c.field_key = m.field_key
            and m.match_rank = 1
    left join quality_reasons as r on m.reason_code = r.reason_code
    cross join other

)

select * from final
