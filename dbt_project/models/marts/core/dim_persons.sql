with

persons as (

    select * from {{ ref('int_persons_current') }}

),

post_categories as (

    select * from {{ ref('post_categories') }}

),

final as (

    select
        persons.person_id,
        persons.name,
        coalesce(persons.id_type, '居民身份证') as id_type,
        persons.id_number,
        {{ mask_id_number('persons.id_number') }} as id_number_masked,
        persons.sex,
        persons.birth_date,
        {{ month_start('persons.birth_date') }} as birth_month,
        persons.hukou_type,
        persons.work_start_date,
        persons.post_category,
        -- Retirement-reform group (docs/domain.md section 3): women on a cadre post
        -- (post_categories seed: management, professional) have original age 55,
        -- other women 50.
        case
            when persons.sex = '男' then 'male'
            when persons.sex = '女' and coalesce(posts.is_cadre_post, false) then 'female_cadre'
            when persons.sex = '女' then 'female_worker'
        end as retirement_group,
        {{ mask_mobile('persons.mobile') }} as mobile_masked

    from persons
    left join post_categories as posts on persons.post_category = posts.post_category

)

select * from final
