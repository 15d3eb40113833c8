{#
    Current version of each unit: superseded rows dropped; should two current files
    both carry a unit, the latest loaded row wins.
#}
with

employers as (

    select * from {{ ref('stg_shebao__employers') }}

),

final as (

    select *
    from employers
    where not is_superseded
    qualify
        row_number() over (
            partition by unit_id
            order by loaded_at desc, file_hash desc, source_row desc
        ) = 1

)

select * from final
