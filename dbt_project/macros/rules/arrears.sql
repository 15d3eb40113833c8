{#
    The due date of a contribution (缴费截止日期, docs/domain.md section 3): the region's rule
    from seed due_date_rules, as a month offset from the fee month and a day of that month;
    an empty day (or no rule) means the last day of that month. A day past the month's end is
    the month's last day. Late fees run from the day after this date. The one place the rule
    is written: int_arrears_lines (and through it fct_late_fees, fct_arrears) and payment
    notices use it. Days are added as `date + integer`, which both engines read alike (dbt's
    dateadd goes through a Spark timestamp and lands a day early under TIMESTAMP_NTZ).
#}
{% macro contribution_due_date(fee_month, due_month_offset, due_day) -%}
    case
        when {{ due_day }} is null
            then last_day({{ add_months(fee_month, 'coalesce(' ~ due_month_offset ~ ', 0)') }})
        else
            least(
                cast({{ add_months(fee_month, 'coalesce(' ~ due_month_offset ~ ', 0)') }} + cast({{ due_day }} - 1 as integer) as date),
                last_day({{ add_months(fee_month, 'coalesce(' ~ due_month_offset ~ ', 0)') }})
            )
    end
{%- endmacro %}
