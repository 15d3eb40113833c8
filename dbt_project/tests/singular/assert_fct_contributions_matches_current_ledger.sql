{#
    The incremental fct_contributions must hold exactly the current ledger lines, with
    the amounts a full rebuild would give. Fails on each line missing from, extra in, or
    different in the table: drift from a missed correction (a superseded file whose
    period was not recomputed) or from reference data changed without --full-refresh.
#}
with

expected as (

    select
        ledger_line_id,
        fee_period,
        total_amount,
        paid_amount,
        unit_rate,
        personal_rate,
        expected_unit_amount,
        expected_personal_amount
    from {{ ref('int_ledger_lines_priced') }}

),

actual as (

    select
        ledger_line_id,
        fee_period,
        total_amount,
        paid_amount,
        unit_rate,
        personal_rate,
        expected_unit_amount,
        expected_personal_amount
    from {{ ref('fct_contributions') }}

),

missing as (

    select
        'missing' as problem,
        *
    from (
        select * from expected
        except
        select * from actual
    ) as missing_lines

),

extra as (

    select
        'extra or different' as problem,
        *
    from (
        select * from actual
        except
        select * from expected
    ) as extra_lines

)

select * from missing
union all
select * from extra
