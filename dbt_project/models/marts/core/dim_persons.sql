with

persons as (

    select * from {{ ref('int_persons_current') }}

),

post_categories as (

    select * from {{ ref('post_categories') }}

),

final as (

    select
        person_id,
        name,
        coalesce(id_type, '居民身份证') as id_type,
        id_number,
        {{ mask_id_number('id_number') }} as id_number_masked,
        sex,
        birth_date,
        {{ month_start('birth_date') }} as birth_month,
        hukou_type,
        work_start_date,
        post_category,
        -- Retirement-reform group (DOMAIN.md section 3): women on a cadre post
        -- (post_categories seed: management, professional) have original age 55,
        -- other women 50.
        case
            when sex = '男' then 'male'
            when sex = '女' and coalesce(posts.is_cadre_post, false) then 'female_cadre'
            when sex = '女' then 'female_worker'
        end as retirement_group,
        {{ mask_mobile('mobile') }} as mobile_masked

    from persons
    left join post_categories as posts using (post_category)

)

select * from final
