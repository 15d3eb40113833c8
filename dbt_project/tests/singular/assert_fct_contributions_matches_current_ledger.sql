{#
    The incremental fct_contributions must hold exactly the current ledger lines, with
    the amounts a full rebuild would give. Fails on each line missing from, extra in, or
    different in the table: drift from a missed correction (a superseded file whose
    period was not recomputed) or from reference data changed without --full-refresh.
    On an incremental build only the touched fee periods are compared (macros/scoped_tests.sql):
    a line belongs to one fee period on both sides, and the others were compared before.
#}
{%- set periods = touched_fee_periods_predicate() or 'true' %}
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
    where {{ periods }}

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
    where {{ periods }}

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
