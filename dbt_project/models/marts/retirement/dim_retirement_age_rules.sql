-- Statutory retirement age by birth month and group under the 2024-09-13 decision
-- (docs/domain.md section 3): delay = 0 before the group's start birth month, else
-- min(floor(d / step) + 1, max delay). Every parameter comes from retirement_reform_groups;
-- the minimum contribution months come from minimum_contribution_months by retirement year.
with

retirement_reform_groups as (

    select * from {{ ref('retirement_reform_groups') }}

),

birth_months as (

    select * from {{ ref('int_birth_months') }}

),

minimum_contribution_months as (

    select * from {{ ref('minimum_contribution_months') }}

),

groups as (

    select
        retirement_group,
        group_label,
        cast(original_age_years as integer) as original_age_years,
        cast(start_birth_month as date) as start_birth_month,
        cast(step_birth_months as integer) as step_birth_months,
        cast(max_delay_months as integer) as max_delay_months
    from retirement_reform_groups

),

ages as (

    select
        b.birth_month,
        g.retirement_group,
        g.group_label,
        g.original_age_years * 12 as original_age_months,
        case
            when {{ months_between_starts('g.start_birth_month', 'b.birth_month') }} < 0 then 0
            else
                least(
                    {{ int_div(
                        months_between_starts('g.start_birth_month', 'b.birth_month'),
                        'g.step_birth_months'
                    ) }} + 1,
                    g.max_delay_months
                )
        end as delay_months
    from birth_months as b
    cross join groups as g

),

months as (

    select
        *,
        original_age_months + delay_months as statutory_age_months,
        {{ add_months('birth_month', 'original_age_months + delay_months') }} as retirement_month,
        {{ add_months('birth_month', 'original_age_months') }} as original_retirement_month
    from ages

),

minimums as (

    select
        cast(retirement_year as integer) as retirement_year,
        cast(minimum_months as integer) as minimum_months
    from minimum_contribution_months

),

final as (

    select
        m.birth_month,
        m.retirement_group,
        m.group_label,
        cast(m.statutory_age_months as integer) as statutory_age_months,
        {{ age_months_label('m.statutory_age_months') }} as statutory_age_label,
        m.retirement_month,
        cast(m.original_age_months as integer) as original_age_months,
        cast(m.delay_months as integer) as delay_months,
        m.original_retirement_month,
        cast(year(m.retirement_month) as integer) as retirement_year,
        -- the seed runs 1990..2040; earlier years take its first row, later years its last
        coalesce(
            (
                select mm.minimum_months from minimums as mm
                where mm.retirement_year <= year(m.retirement_month)
                order by mm.retirement_year desc limit 1
            ),
            (
                select mm.minimum_months from minimums as mm
                order by mm.retirement_year asc limit 1
            )
        ) as required_months,
        greatest(
            {{ add_months('m.retirement_month', '-' ~ flexible_retirement_window_months()) }},
            m.original_retirement_month
        ) as earliest_flexible_month,
        {{ add_months('m.retirement_month', flexible_retirement_window_months()) }} as latest_flexible_month
    from months as m

)

select * from final
