{#
    Per person, what the legacy history (历史缴费记录) carried into the pension personal
    account: the sum of the 个人账户迁移金额 of the person's current pension spells, as at
    the end of the latest cut-off month of their regions (legacy_history_cutoffs). The rights
    statement and the estimate open the account with it; interest runs from the month after.
#}
with

legacy_history as (

    select * from {{ ref('stg_shebao__legacy_history') }}

),

cutoffs as (

    select * from {{ ref('legacy_history_cutoffs') }}

),

insurance_types as (

    select * from {{ ref('insurance_types') }}

),

legacy_versions as (

    select
        legacy_history.*,
        row_number() over (
            partition by legacy_history.person_id, legacy_history.insurance_type, legacy_history.start_period
            order by legacy_history.loaded_at desc, legacy_history.file_hash desc, legacy_history.source_row desc
        ) as version_rank
    from legacy_history
    where not legacy_history.is_superseded

),

pension_spells as (

    select
        legacy_versions.person_id,
        legacy_versions.account_balance,
        cast(cutoffs.cutoff_period as string) as cutoff_period
    from legacy_versions
    inner join insurance_types
        on legacy_versions.insurance_type = cast(insurance_types.insurance_type as string)
    inner join cutoffs
        on legacy_versions.region_code = cast(cutoffs.region_code as string)
    where legacy_versions.version_rank = 1 and insurance_types.is_pension

),

final as (

    select
        pension_spells.person_id,
        max(pension_spells.cutoff_period) as cutoff_period,
        cast(sum(coalesce(pension_spells.account_balance, 0)) as decimal(18, 2)) as migrated_account_balance,
        cast(count(*) as integer) as pension_spell_count
    from pension_spells
    group by pension_spells.person_id

)

select * from final
