with

units as (

    select * from {{ ref('int_units_current') }}

),

regions as (

    select * from {{ ref('regions') }}

),

work_injury_rates as (

    select * from {{ ref('work_injury_rates') }}

),

final as (

    select
        units.unit_id,
        units.unit_name,
        units.uscc,
        units.unit_type,
        units.region_code,
        regions.region_name,
        units.risk_class,
        work_injury_rates.base_rate as work_injury_rate,
        units.legal_representative,
        units.address,
        units.founded_date,
        units.status

    from units
    left join regions
        on units.region_code = regions.region_code
    left join work_injury_rates
        on units.risk_class = work_injury_rates.risk_class

)

select * from final
