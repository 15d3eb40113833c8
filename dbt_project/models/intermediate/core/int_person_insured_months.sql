{#
    The one list of a person's insured months, per insurance (docs/rules.md): every month
    counts once, whatever its source.

    - Ledger months: a month paid for the insurance at every unit that owed it
      (fct_person_months.is_insurance_month_paid, the one month-paid rule), before or after
      the migration cut-off.
    - Migrated months: each current legacy-history spell (历史缴费记录) expanded into its
      months (start to end, or start and 缴费月数, or the start month alone), kept up to the
      cut-off month of the spell's region (legacy_history_cutoffs): after it the ledger is
      the only source.
    - A month in both, or in two overlapping spells, is one row: the ledger wins, then the
      higher base. Written with portable SQL (no QUALIFY, no series functions).
#}
with

person_months as (

    select * from {{ ref('fct_person_months') }}

),

legacy_history as (

    select * from {{ ref('stg_shebao__legacy_history') }}

),

cutoffs as (

    select * from {{ ref('legacy_history_cutoffs') }}

),

insurance_types as (

    select * from {{ ref('insurance_types') }}

),

ledger_months as (

    select
        person_months.person_id,
        person_months.insurance_type,
        person_months.fee_period,
        min(person_months.unit_id) as unit_id,
        min(person_months.region_code) as region_code,
        max(person_months.personal_base) as personal_base
    from person_months
    where person_months.is_due and person_months.is_insurance_month_paid
    group by person_months.person_id, person_months.insurance_type, person_months.fee_period

),

legacy_versions as (

    -- the latest loaded row of each spell counts; superseded file versions never do
    select
        legacy_history.*,
        row_number() over (
            partition by legacy_history.person_id, legacy_history.insurance_type, legacy_history.start_period
            order by legacy_history.loaded_at desc, legacy_history.file_hash desc, legacy_history.source_row desc
        ) as version_rank
    from legacy_history
    where not legacy_history.is_superseded

),

spell_starts as (

    select
        legacy_versions.person_id,
        legacy_versions.insurance_type,
        legacy_versions.unit_id,
        legacy_versions.region_code,
        legacy_versions.base,
        legacy_versions.end_period,
        legacy_versions.month_count,
        cast(substr(legacy_versions.start_period, 1, 4) as integer) * 12
        + cast(substr(legacy_versions.start_period, 5, 2) as integer) - 1 as first_month_number
    from legacy_versions
    where legacy_versions.version_rank = 1

),

spells as (

    select
        spell_starts.*,
        case
            when spell_starts.end_period is not null
                then cast(substr(spell_starts.end_period, 1, 4) as integer) * 12
                    + cast(substr(spell_starts.end_period, 5, 2) as integer) - 1
            when spell_starts.month_count is not null
                then spell_starts.first_month_number + spell_starts.month_count - 1
            else spell_starts.first_month_number
        end as last_month_number
    from spell_starts

),

digits as (

    select digits.digit
    from (values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) as digits (digit)

),

month_offsets as (

    -- 0..999: a spell is at most 600 months (the loader's limit)
    select ones.digit + 10 * tens.digit + 100 * hundreds.digit as month_offset
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds

),

legacy_months as (

    select
        spells.person_id,
        spells.insurance_type,
        spells.unit_id,
        spells.region_code,
        spells.base,
        cast(
            cast(floor((spells.first_month_number + month_offsets.month_offset) / 12) as integer) * 100
            + (spells.first_month_number + month_offsets.month_offset) % 12 + 1
            as string
        ) as fee_period
    from spells
    inner join month_offsets
        on month_offsets.month_offset <= spells.last_month_number - spells.first_month_number

),

migrated_months as (

    select
        legacy_months.person_id,
        legacy_months.insurance_type,
        legacy_months.fee_period,
        legacy_months.unit_id,
        legacy_months.region_code,
        legacy_months.base
    from legacy_months
    inner join cutoffs
        on legacy_months.region_code = cast(cutoffs.region_code as string)
    where legacy_months.fee_period <= cast(cutoffs.cutoff_period as string)

),

candidates as (

    select
        ledger_months.person_id,
        ledger_months.insurance_type,
        ledger_months.fee_period,
        ledger_months.unit_id,
        ledger_months.region_code,
        ledger_months.personal_base,
        false as is_migrated
    from ledger_months
    union all
    select
        migrated_months.person_id,
        migrated_months.insurance_type,
        migrated_months.fee_period,
        migrated_months.unit_id,
        migrated_months.region_code,
        migrated_months.base as personal_base,
        true as is_migrated
    from migrated_months

),

ranked as (

    select
        candidates.*,
        row_number() over (
            partition by candidates.person_id, candidates.insurance_type, candidates.fee_period
            order by
                case when candidates.is_migrated then 1 else 0 end,
                candidates.personal_base desc,
                candidates.unit_id asc nulls last
        ) as month_rank
    from candidates

),

final as (

    select
        ---------- grain
        ranked.person_id,
        ranked.insurance_type,
        ranked.fee_period,

        ---------- periods
        {{ fee_period_to_month('ranked.fee_period') }} as fee_month,
        {{ fee_period_year('ranked.fee_period') }} as fee_year,

        ---------- where and how much
        ranked.unit_id,
        ranked.region_code,
        cast(ranked.personal_base as decimal(18, 2)) as personal_base,

        ---------- flags
        ranked.is_migrated,
        coalesce(insurance_types.is_pension, false) as is_pension

    from ranked
    left join insurance_types
        on ranked.insurance_type = cast(insurance_types.insurance_type as string)
    where ranked.month_rank = 1

)

select * from final
