with

enrolments as (

    select * from {{ ref('int_enrolments_current') }}

),

final as (

    select
        md5(
            person_id || '|' || unit_id || '|' || insurance_type || '|' || start_period
        ) as enrolment_id,
        person_id,
        unit_id,
        insurance_type,
        start_period,
        end_period,
        {{ fee_period_to_month('start_period') }} as start_month,
        {{ fee_period_to_month('end_period') }} as end_month,
        status,
        change_reason,
        (
            status in ('正常参保', '暂停缴费')
            and (
                end_period is null
                or {{ fee_period_to_month('end_period') }} >= {{ as_of_month() }}
            )
        ) as is_current,
        source_file,
        source_row

    from enrolments

)

select * from final
