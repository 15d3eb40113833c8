{#
    The one definition of "a month paid" (docs/rules.md). One row per person, unit, fee
    period and insurance with at least one ledger line.

    - A month is due for an insurance when a non-refund line exists for it (a refund
      alone, 退收, is never a month due).
    - is_paid: every due line of this person, unit, month and insurance arrived (到账).
      A month with one line arrived and another not is in arrears (is_in_arrears).
    - is_person_month_paid: every insurance due for the person at this unit that month
      is paid. A month where the pension arrived and medical did not is paid for the
      pension, in arrears for medical, and not a paid month of the person at the unit.
      Unit proof roster and summary totals count these.
    - is_insurance_month_paid: the insurance is paid that month at every unit the person
      owes it at. The rights statement and the retirement check count these.
    - Amounts are those of arrived lines (refunds negative); amount_due the non-refund
      total, amount_paid what arrived.

    Incremental by fee period (macros/reports/incremental.sql): a month is rebuilt whole
    when its lines change; every flag is decided within its fee period.
#}
{{
    config(
        materialized='incremental',
        partition_by=fee_period_partitions(),
        pre_hook="{{ drop_vanished_fee_periods() }}"
    )
}}

with

-- read for the fingerprints and the lines: not materialized, so no copy of the ledger is made
all_contributions as {{ not_materialized() }} (

    select * from {{ ref('fct_contributions') }}

),

fingerprints as (

    {{ fee_period_fingerprints('all_contributions') }}

),

contributions as (

    select * from all_contributions
    where {{ fee_periods_to_build('fee_period', 'fingerprints') }}

),

contribution_types as (

    select * from {{ ref('contribution_types') }}

),

lines as (

    select
        contributions.*,
        coalesce(contribution_types.is_refund, false) as is_refund_line,
        coalesce(contribution_types.is_back_payment, false) as is_back_payment_line
    from contributions
    left join contribution_types
        on contributions.contribution_type = contribution_types.contribution_type

),

months as (

    select
        person_id,
        unit_id,
        fee_period,
        cast(insurance_type as string) as insurance_type,
        min(fee_month) as fee_month,
        min(fee_year) as fee_year,
        min(region_code) as region_code,
        cast(count(*) as integer) as line_count,
        cast(count(*) filter (where not is_refund_line) as integer) as due_line_count,
        cast(count(*) filter (where not is_refund_line and is_paid) as integer) as arrived_line_count,
        coalesce(bool_or(is_paid and is_back_payment_line), false) as is_back_payment,
        max(personal_base) filter (where is_paid and not is_refund_line) as personal_base,
        max(unit_base) filter (where is_paid and not is_refund_line) as unit_base,
        coalesce(sum(personal_amount) filter (where is_paid), 0) as personal_amount,
        coalesce(sum(unit_amount) filter (where is_paid), 0) as unit_amount,
        coalesce(sum(coalesce(account_credit, 0)) filter (where is_paid), 0) as account_credit,
        coalesce(sum(total_amount) filter (where not is_refund_line), 0) as amount_due,
        coalesce(sum(paid_amount), 0) as amount_paid
    from lines
    group by person_id, unit_id, fee_period, cast(insurance_type as string)

),

flagged as (

    select
        *,
        due_line_count > 0 as is_due,
        due_line_count > 0 and arrived_line_count = due_line_count as is_paid
    from months

),

final as (

    select
        ---------- grain
        flagged.person_id,
        flagged.unit_id,
        flagged.fee_period,
        flagged.insurance_type,

        ---------- periods
        flagged.fee_month,
        flagged.fee_year,
        flagged.region_code,

        ---------- the month-paid rule
        flagged.line_count,
        flagged.due_line_count,
        flagged.arrived_line_count,
        flagged.is_due,
        flagged.is_paid,
        flagged.is_due and not flagged.is_paid as is_in_arrears,
        flagged.is_back_payment,
        coalesce(bool_and(case when flagged.is_due then flagged.is_paid end) over (
            partition by flagged.person_id, flagged.unit_id, flagged.fee_period
        ), false) as is_person_month_paid,
        coalesce(bool_and(case when flagged.is_due then flagged.is_paid end) over (
            partition by flagged.person_id, flagged.insurance_type, flagged.fee_period
        ), false) as is_insurance_month_paid,

        ---------- bases and money (yuan)
        cast(flagged.personal_base as decimal(18, 2)) as personal_base,
        cast(flagged.unit_base as decimal(18, 2)) as unit_base,
        cast(flagged.personal_amount as decimal(18, 2)) as personal_amount,
        cast(flagged.unit_amount as decimal(18, 2)) as unit_amount,
        cast(flagged.account_credit as decimal(18, 2)) as account_credit,
        cast(flagged.amount_due as decimal(18, 2)) as amount_due,
        cast(flagged.amount_paid as decimal(18, 2)) as amount_paid,

        ---------- incremental bookkeeping
        fingerprints.source_fingerprint

    from flagged
    inner join fingerprints on flagged.fee_period = fingerprints.fee_period

)

select * from final
