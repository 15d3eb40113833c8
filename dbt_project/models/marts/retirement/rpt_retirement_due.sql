-- One row per currently insured person: statutory retirement month (dim_retirement_age_rules),
-- pension months insured (int_person_insured_months: ledger months paid plus migrated legacy
-- months, each once), the minimum for the year the person reaches statutory age, and the
-- flexible window (early only with the minimum met).
with pension_types as (
    select cast(insurance_type as string) as insurance_type
    from {{ ref('insurance_types') }}
    where is_pension
),

current_enrolments as (
    select
        e.person_id,
        e.unit_id,
        row_number() over (
            partition by e.person_id
            order by
                case when p.insurance_type is not null then 0 else 1 end,
                e.start_month desc, e.unit_id asc
        ) as rn
    from {{ ref('fct_enrolments') }} as e
    left join pension_types as p on cast(e.insurance_type as string) = p.insurance_type
    where e.is_current
),

paid_months as (
    -- a pension month counts once: paid at every unit that owed it, or migrated (never both)
    select
        im.person_id,
        count(*) as contribution_months,
        count(case when im.is_migrated then 1 end) as migrated_months
    from {{ ref('int_person_insured_months') }} as im
    where im.is_pension
    group by im.person_id
)

select
    p.person_id,
    p.name,
    p.id_number_masked,
    p.sex,
    ce.unit_id,
    u.unit_name,
    p.retirement_group,
    p.birth_month,
    r.statutory_age_months,
    r.statutory_age_label,
    r.retirement_month,
    cast(coalesce(pm.contribution_months, 0) as integer) as contribution_months,
    cast(coalesce(pm.migrated_months, 0) as integer) as migrated_months,
    r.required_months,
    cast(greatest(r.required_months - coalesce(pm.contribution_months, 0), 0) as integer) as shortfall_months,
    case when coalesce(pm.contribution_months, 0) >= r.required_months
            then r.earliest_flexible_month
    end as earliest_flexible_month,
    r.latest_flexible_month
from current_enrolments as ce
inner join {{ ref('dim_persons') }} as p on ce.person_id = p.person_id
left join {{ ref('dim_units') }} as u on ce.unit_id = u.unit_id
left join {{ ref('dim_retirement_age_rules') }} as r
    on p.birth_month = r.birth_month and p.retirement_group = r.retirement_group
left join paid_months as pm on p.person_id = pm.person_id
where ce.rn = 1
