-- Each late fee (滞纳金) at the grain a clerk checks by hand (docs/domain.md section 3): per unit,
-- fee period, insurance, contribution type and kind, the money charged, the due date
-- (缴费截止日期), the arrival date (到账日期, for money paid late) or the as-of date (for money
-- still owed), the days from the day after the due date to that date within one rate's
-- validity (逾期天数), the daily rate (日费率) and the fee, simple and half-up to the fen:
-- round_half_up(charged_amount x daily_rate x days_overdue). A period crossing a rate change
-- (2011-07-01) gives one row per rate. Insurances without a statutory late fee (housing
-- fund) have none.
with

arrears_lines as (

    select * from {{ ref('int_arrears_lines') }}

),

late_fee_rates as (

    select * from {{ ref('late_fee_rates') }}

),

fee_kinds as (

    select * from {{ ref('late_fee_kinds') }}

),

-- the money late fees are charged on, with the last day charged
tranches as (

    select
        unit_id,
        fee_period,
        insurance_type,
        contribution_type,
        'owed' as fee_kind,
        due_date,
        cast(null as date) as arrival_date,
        as_of_date as end_date,
        as_of_date,
        owed_amount as amount
    from arrears_lines
    where is_owed_overdue and has_late_fee
    union all
    select
        unit_id,
        fee_period,
        insurance_type,
        contribution_type,
        'paid_late' as fee_kind,
        due_date,
        late_arrival_date as arrival_date,
        late_arrival_date as end_date,
        as_of_date,
        late_paid_amount as amount
    from arrears_lines
    where late_paid_amount > 0 and has_late_fee

),

grouped as (

    select
        unit_id,
        fee_period,
        insurance_type,
        contribution_type,
        fee_kind,
        due_date,
        arrival_date,
        end_date,
        as_of_date,
        cast(count(*) as integer) as line_count,
        sum(amount) as charged_amount
    from tranches
    group by
        unit_id, fee_period, insurance_type, contribution_type, fee_kind, due_date, arrival_date, end_date, as_of_date

),

segments as (

    select
        g.*,
        cast(f.valid_from as date) as rate_valid_from,
        cast(f.daily_rate as decimal(12, 6)) as daily_rate,
        f.legal_basis,
        greatest(cast(g.due_date + 1 as date), cast(f.valid_from as date)) as charged_from,
        least(g.end_date, cast(f.valid_to as date)) as charged_to
    from grouped as g
    inner join late_fee_rates as f
        on
            cast(f.valid_from as date) <= g.end_date
            and cast(f.valid_to as date) > g.due_date

),

final as (

    select
        s.unit_id,
        s.fee_period,
        s.insurance_type,
        s.contribution_type,
        s.fee_kind,
        k.fee_kind_label,
        s.line_count,
        cast(s.charged_amount as decimal(18, 2)) as charged_amount,
        s.due_date,
        s.arrival_date,
        s.end_date,
        s.charged_from,
        s.charged_to,
        cast({{ days_between('s.charged_from', 's.charged_to') }} as integer) + 1 as days_overdue,
        s.rate_valid_from,
        s.daily_rate,
        s.legal_basis,
        {{ round_half_up(
            'cast(s.charged_amount as decimal(38, 2)) * s.daily_rate * ('
            ~ 'cast(' ~ days_between('s.charged_from', 's.charged_to') ~ ' as integer)' ~ ' + 1)'
        ) }} as late_fee,
        s.as_of_date
    from segments as s
    left join fee_kinds as k on s.fee_kind = k.fee_kind

)

select * from final
