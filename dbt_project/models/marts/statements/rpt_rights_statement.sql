-- Personal rights statement (个人权益记录单) figures per person, statement period and
-- insurance. The period is the region's statement_period_conventions row: a year starting
-- in period_start_month (SZ_SIP: 7, so '202006' covers 2019-07-01..2020-06-30), named by the
-- YYYYMM of its last month. Months paid and in arrears per insurance are those of
-- fct_person_months (the one month-paid rule). Amounts are those of arrived lines.
-- cumulative_months counts the person's insured months of the insurance up to the period end
-- (int_person_insured_months: ledger months paid and migrated legacy-history months, each
-- once), so 累计缴费年限 includes 历史缴费; cumulative_migrated_months is the migrated part.
-- Not incremental: the cumulative counts run over all earlier months.
with person_months as (
    select * from {{ ref('fct_person_months') }}
),

insured_months as (
    select * from {{ ref('int_person_insured_months') }}
),

conventions as (
    select * from {{ ref('statement_period_conventions') }}
),

periodised as (
    select
        pm.*,
        make_date(
            year({{ add_months('pm.fee_month', '1 - coalesce(cast(spc.period_start_month as integer), 1)') }}),
            coalesce(cast(spc.period_start_month as integer), 1),
            1
        ) as period_start
    from person_months as pm
    left join conventions as spc on pm.region_code = spc.region_code
),

months as (
    -- one row per person, insurance and fee month: paid when paid at every unit that owed it
    -- (fct_person_months.is_insurance_month_paid); null when only refunds (no month due)
    select
        person_id,
        insurance_type,
        period_start,
        fee_month,
        bool_and(is_insurance_month_paid) filter (where is_due) as month_paid,
        bool_or(is_back_payment) as month_back_paid,
        max(personal_base) filter (where is_paid) as month_base
    from periodised
    group by all
),

month_totals as (
    select
        person_id,
        insurance_type,
        period_start,
        count(*) filter (where month_paid) as months_paid,
        count(*) filter (where not month_paid) as months_in_arrears,
        count(*) filter (where month_back_paid) as back_paid_months,
        avg(month_base) filter (where month_paid) as avg_base_exact
    from months
    group by all
),

money as (
    select
        person_id,
        insurance_type,
        period_start,
        {{ ordered_string_agg('region_code', 'region_code', distinct=true) }} as region_codes,
        sum(personal_amount) as personal_amount,
        sum(unit_amount) as unit_amount,
        sum(account_credit) as account_credit,
        min(fee_month) as first_fee_month,
        max(fee_month) as last_fee_month
    from periodised
    group by all
),

units as (
    select
        person_id,
        insurance_type,
        period_start,
        cast(count(*) as integer) as unit_count,
        {{ ordered_string_agg('unit_id', 'unit_id') }} as unit_ids,
        {{ ordered_string_agg('coalesce(unit_name, unit_id)', 'unit_id') }} as unit_names
    from (
        select distinct
            p.person_id,
            p.insurance_type,
            p.period_start,
            p.unit_id,
            u.unit_name
        from periodised as p
        left join {{ ref('dim_units') }} as u on p.unit_id = u.unit_id
    )
    group by all
),

joined as (
    select
        m.person_id,
        {{ month_to_fee_period(add_months('m.period_start', 11)) }} as statement_period,
        m.period_start,
        last_day({{ add_months('m.period_start', 11) }}) as period_end,
        m.insurance_type,
        m.region_codes,
        cast(coalesce(t.months_paid, 0) as integer) as months_paid,
        {{ round_half_up('t.avg_base_exact') }} as avg_base,
        cast(coalesce(m.personal_amount, 0) as decimal(18, 2)) as personal_amount,
        cast(coalesce(m.unit_amount, 0) as decimal(18, 2)) as unit_amount,
        cast(coalesce(m.account_credit, 0) as decimal(18, 2)) as account_credit,
        cast(coalesce(t.back_paid_months, 0) as integer) as back_paid_months,
        cast(coalesce(t.months_in_arrears, 0) as integer) as months_in_arrears,
        un.unit_count,
        un.unit_ids,
        un.unit_names,
        m.first_fee_month,
        m.last_fee_month
    from money as m
    left join month_totals as t
        on m.person_id = t.person_id
            and m.insurance_type = t.insurance_type
            and m.period_start = t.period_start
    left join units as un
        on m.person_id = un.person_id
            and m.insurance_type = un.insurance_type
            and m.period_start = un.period_start
),

statement_ends as (
    select distinct
        person_id,
        insurance_type,
        period_end
    from joined
),

cumulative as (
    select
        j.person_id,
        j.insurance_type,
        j.period_end,
        count(im.fee_period) as cumulative_months,
        sum(case when im.is_migrated then 1 else 0 end) as cumulative_migrated_months
    from statement_ends as j
    left join insured_months as im
        on
            j.person_id = im.person_id
            and j.insurance_type = im.insurance_type
            and j.period_end >= im.fee_month
    group by j.person_id, j.insurance_type, j.period_end
)

select
    j.person_id,
    j.statement_period,
    j.period_start,
    j.period_end,
    j.insurance_type,
    j.region_codes,
    j.months_paid,
    j.avg_base,
    j.personal_amount,
    j.unit_amount,
    j.account_credit,
    j.back_paid_months,
    j.months_in_arrears,
    cast(cu.cumulative_months as integer) as cumulative_months,
    cast(coalesce(cu.cumulative_migrated_months, 0) as integer) as cumulative_migrated_months,
    j.unit_count,
    j.unit_ids,
    j.unit_names,
    j.first_fee_month,
    j.last_fee_month
from joined as j
left join cumulative as cu
    on
        j.person_id = cu.person_id
        and j.insurance_type = cu.insurance_type
        and j.period_end = cu.period_end
