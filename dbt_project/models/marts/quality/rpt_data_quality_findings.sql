-- Soft findings on loaded ledger lines (docs/domain.md section 2): amount differing from
-- base x rate by more than 0.01, base below the year's floor or above its cap, base not
-- rounded to the region's unit. One row per line and finding, with the source file and
-- row and a Chinese message. Incremental by fee period (macros/reports/incremental.sql;
-- settings in dbt_project.yml).
{{
    config(
        materialized='incremental',
        partition_by=fee_period_partitions(),
        pre_hook="{{ drop_vanished_fee_periods() }}"
    )
}}

with

contribution_checks as (

    select * from {{ ref('int_contribution_checks') }}

),

contributions as (

    select * from {{ ref('fct_contributions') }}

),

fingerprints as (

    {{ fee_period_fingerprints('contributions') }}

),

checks as (

    select *
    from contribution_checks
    where {{ fee_periods_to_build('fee_period', 'fingerprints') }}

),

findings as (

    select
        *,
        'personal_amount_mismatch' as finding_type,
        '个人缴费金额' || cast(personal_amount as string) || '元与基数×费率应缴'
        || cast(expected_personal_amount as string) || '元相差'
        || cast(personal_amount_diff as string) || '元' as message
    from checks
    where abs(personal_amount_diff) > {{ amount_tolerance() }}
    union all
    select
        *,
        'unit_amount_mismatch' as finding_type,
        '单位缴费金额' || cast(unit_amount as string) || '元与基数×费率应缴'
        || cast(expected_unit_amount as string) || '元相差'
        || cast(unit_amount_diff as string) || '元' as message
    from checks
    where abs(unit_amount_diff) > {{ amount_tolerance() }}
    union all
    select
        *,
        'base_below_floor' as finding_type,
        '缴费基数(个人' || cast(personal_base as string) || '元/单位' || cast(unit_base as string)
        || '元)低于' || cast(fee_year as string) || '年度下限' || cast(base_floor as string) || '元' as message
    from checks
    where base_below_floor
    union all
    select
        *,
        'base_above_cap' as finding_type,
        '缴费基数(个人' || cast(personal_base as string) || '元/单位' || cast(unit_base as string)
        || '元)高于' || cast(fee_year as string) || '年度上限' || cast(base_cap as string) || '元' as message
    from checks
    where base_above_cap
    union all
    select
        *,
        'base_not_rounded' as finding_type,
        '缴费基数(个人' || cast(personal_base as string) || '元/单位' || cast(unit_base as string)
        || '元)未按' || cast(base_rounding_unit as string) || '元取整(应为个人'
        || cast(personal_base_rounded as string) || '元/单位' || cast(unit_base_rounded as string) || '元)' as message
    from checks
    where base_not_rounded

),

final as (

    select
        x.ledger_line_id,
        x.finding_type,
        x.message,
        x.source_file,
        x.source_row,
        x.unit_id,
        x.person_id,
        x.region_code,
        x.fee_period,
        x.insurance_type,
        x.contribution_type,
        x.personal_base,
        x.unit_base,
        x.personal_amount,
        x.unit_amount,
        x.expected_personal_amount,
        x.expected_unit_amount,
        x.personal_amount_diff,
        x.unit_amount_diff,
        x.base_floor,
        x.base_cap,
        f.source_fingerprint
    from findings as x
    inner join fingerprints as f on x.fee_period = f.fee_period

)

select * from final
