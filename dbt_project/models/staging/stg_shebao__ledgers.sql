with

source as (

    select * from {{ source('shebao', 'ledgers') }}

),

renamed as (

    select
        ---------- ids
        cast(unit_id as string) as unit_id,
        cast(person_id as string) as person_id,
        cast(id_type as string) as id_type,
        cast(id_number as string) as id_number,
        cast(insurance_type as string) as insurance_type,
        cast(notice_no as string) as notice_no,

        ---------- attributes
        cast(unit_name as string) as unit_name,
        cast(name as string) as name,
        cast(fee_period as string) as fee_period,
        cast(contribution_type as string) as contribution_type,
        cast(region_code as string) as region_code,
        cast(paid_status as string) as paid_status,

        ---------- money (yuan)
        cast(personal_base as decimal(18, 2)) as personal_base,
        cast(unit_base as decimal(18, 2)) as unit_base,
        cast(personal_amount as decimal(18, 2)) as personal_amount,
        cast(unit_amount as decimal(18, 2)) as unit_amount,
        cast(account_credit as decimal(18, 2)) as account_credit,
        cast(interest as decimal(18, 2)) as interest,
        cast(late_fee as decimal(18, 2)) as late_fee,
        cast(paid_amount as decimal(18, 2)) as reported_paid_amount,

        ---------- dates
        cast(paid_date as date) as paid_date,

        ---------- lineage
        cast(source_file as string) as source_file,
        cast(source_row as integer) as source_row,
        cast(file_hash as string) as file_hash,
        cast(load_id as string) as load_id,
        cast(loaded_at as timestamp) as loaded_at,
        cast(superseded_at as timestamp) as superseded_at,
        superseded_at is not null as is_superseded

    from source

)

select * from renamed
