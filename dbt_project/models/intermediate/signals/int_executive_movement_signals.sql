-- bit.signal candidates with reason executive_movement, one per detected executive change
-- (signal_key, company_id, reason, payload): each marketing.people_intelligence row whose
-- previous or new seniority is an executive level (metadata.executive_movement), for the
-- tracked company concerned - the one the person was at, else the tracked company they
-- joined - keyed 'executive_movement|<intel_unique_id>' so the signal is emitted once.
with

intelligence as (
    select
        intel_unique_id,
        person_unique_id,
        company_unique_id,
        change_type,
        previous_title,
        new_title,
        detected_at,
        coalesce(company_unique_id, {{ json_text('metadata', 'matched_company_unique_id') }})
            as concerned_company_unique_id
    from {{ ref('people_intelligence') }}
    where {{ json_text('metadata', 'executive_movement') }} = 'true'
),

companies as (
    select
        company_unique_id,
        company_id
    from {{ ref('company_master') }}
),

final as (
    select
        {{ dbt.concat(["'executive_movement|'", 'intelligence.intel_unique_id']) }} as signal_key,
        companies.company_id,
        'executive_movement' as reason,
        {{ build_json_object([
            ('intel_unique_id', 'intelligence.intel_unique_id'),
            ('person_unique_id', 'intelligence.person_unique_id'),
            ('company_unique_id', 'intelligence.concerned_company_unique_id'),
            ('change_type', 'intelligence.change_type'),
            ('previous_title', 'intelligence.previous_title'),
            ('new_title', 'intelligence.new_title'),
            ('detected_at', 'intelligence.detected_at'),
        ]) }} as payload
    from intelligence
    inner join companies on intelligence.concerned_company_unique_id = companies.company_unique_id
)

select * from final
