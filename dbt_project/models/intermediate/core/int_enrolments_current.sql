{#
    Current version of each enrolment spell (person x unit x insurance x start period):
    superseded rows dropped; the latest loaded row wins.
#}
with

enrolments as (

    select * from {{ ref('stg_shebao__enrolments') }}

),

final as (

    select *
    from enrolments
    where not is_superseded
    qualify
        row_number() over (
            partition by person_id, unit_id, insurance_type, start_period
            order by loaded_at desc, file_hash desc, source_row desc
        ) = 1

)

select * from final
