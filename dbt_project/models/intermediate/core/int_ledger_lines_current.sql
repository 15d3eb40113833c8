{#
    Ledger lines that count: superseded history dropped. Adds the stable line id, the
    period forms and the money-arrived rule (到账金额).
#}
with

ledgers as (

    select * from {{ ref('stg_shebao__ledgers') }}

),

final as (

    select
        ---------- ids
        md5(file_hash || '|' || cast(source_row as string)) as ledger_line_id,
        unit_id,
        person_id,
        id_type,
        id_number,
        region_code,
        insurance_type,
        contribution_type,
        notice_no,

        ---------- periods
        fee_period,
        {{ fee_period_to_month('fee_period') }} as fee_month,
        {{ fee_period_year('fee_period') }} as fee_year,

        ---------- money (yuan)
        personal_base,
        unit_base,
        personal_amount,
        unit_amount,
        cast(personal_amount + unit_amount as decimal(18, 2)) as total_amount,
        coalesce(account_credit, 0.00) as account_credit,
        coalesce(interest, 0.00) as interest,
        coalesce(late_fee, 0.00) as late_fee,

        ---------- arrival
        paid_status,
        cast(
            case paid_status
                when '已到账' then personal_amount + unit_amount
                when '未到账' then 0
                when '未足额到账' then coalesce(reported_paid_amount, 0)
            end
            as decimal(18, 2)
        ) as paid_amount,
        paid_date,
        paid_status = '已到账' as is_paid,

        ---------- lineage
        source_file,
        source_row,
        file_hash,
        load_id,
        loaded_at

    from ledgers
    where not is_superseded

)

select * from final
