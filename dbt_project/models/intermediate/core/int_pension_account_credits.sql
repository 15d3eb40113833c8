{#
    What enters the pension personal account, per person and month (docs/rules.md): the one
    crediting rule both the yearly account (rpt_pension_account) and the rights statement's
    account (rpt_rights_statement_account) read.

    - credits: personal pension contributions that arrived (fct_contributions.is_paid), by fee
      month. For a person with migrated history (int_person_migrated_accounts) only the months
      after the cut-off: the migrated balance is the account as it stood at the end of the
      cut-off month, so it already holds every earlier month.
    - migrated_balance: that balance, entered in the cut-off month; it earns interest from
      the month after (rpt_pension_account).
#}
with

contributions as (

    select * from {{ ref('fct_contributions') }}

),

insurance_types as (

    select * from {{ ref('insurance_types') }}

),

migrated_accounts as (

    select * from {{ ref('int_person_migrated_accounts') }}

),

ledger_credits as (

    select
        contributions.person_id,
        contributions.fee_month,
        contributions.personal_amount as credits,
        cast(0 as decimal(18, 2)) as migrated_balance
    from contributions
    inner join insurance_types
        on cast(contributions.insurance_type as string) = cast(insurance_types.insurance_type as string)
    left join migrated_accounts
        on contributions.person_id = migrated_accounts.person_id
    where
        insurance_types.is_pension
        and contributions.is_paid
        and (
            migrated_accounts.person_id is null
            or contributions.fee_month > {{ fee_period_to_month('migrated_accounts.cutoff_period') }}
        )

),

migrated as (

    select
        migrated_accounts.person_id,
        {{ fee_period_to_month('migrated_accounts.cutoff_period') }} as fee_month,
        cast(0 as decimal(18, 2)) as credits,
        migrated_accounts.migrated_account_balance as migrated_balance
    from migrated_accounts

),

movements as (

    select * from ledger_credits
    union all
    select * from migrated

),

final as (

    select
        movements.person_id,
        movements.fee_month,
        cast(year(movements.fee_month) as integer) as fee_year,
        cast(sum(movements.credits) as decimal(18, 2)) as credits,
        cast(sum(movements.migrated_balance) as decimal(18, 2)) as migrated_balance,
        -- the migrated balance x the months left in its year after the cut-off (interest weight)
        cast(sum(movements.migrated_balance * (12 - month(movements.fee_month))) as decimal(18, 2))
            as migrated_month_weight
    from movements
    group by movements.person_id, movements.fee_month

)

select * from final
