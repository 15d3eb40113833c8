{#
    The due date (缴费截止日期) of a fee month under a region's due_date_rules row: the day
    `due_day` of the month `due_month_offset` months after the fee month, capped at that
    month's last day; an empty day means the month's last day. Late fees run from the day
    after it (fct_arrears); payment notices print it (rpt_payment_notices). One place for it.
#}

{% macro due_date(fee_month, due_month_offset, due_day) -%}
    case
        when {{ due_day }} is null then last_day({{ add_months(fee_month, 'coalesce(' ~ due_month_offset ~ ', 0)') }})
        else
            least(
                {{ add_months(fee_month, due_month_offset) }} + ({{ due_day }} - 1),
                last_day({{ add_months(fee_month, due_month_offset) }})
            )
    end
{%- endmacro %}
