{#
    Current version of each person: superseded rows dropped; should two current files
    both carry a person, the latest loaded row wins.
#}
with

persons as (

    select * from {{ ref('stg_shebao__persons') }}

),

final as (

    select *
    from persons
    where not is_superseded
    qualify
        row_number() over (
            partition by person_id
            order by loaded_at desc, file_hash desc, source_row desc
        ) = 1

)

select * from final
