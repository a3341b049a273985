{{ config(materialized='view') }}

-- The unified audit log (published as marketing.unified_audit_log): one row per audited
-- step of a record. Change detection writes step_2b_enrich: a person's title or employer
-- updated from LinkedIn, one row per marketing.people_intelligence row.
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
        created_at
    from {{ ref('people_intelligence') }}
),

final as (
    select
        person_unique_id as unique_id,
        '04.04.04' as process_id,
        'success' as status,
        'linkedin_sync' as actor,
        'linkedin' as source,  -- noqa: RF04
        'update_person' as action,  -- noqa: RF04
        'step_2b_enrich' as step,
        'people' as record_type,
        {{ build_json_object([
            ('title', 'previous_title'),
            ('company_unique_id', 'company_unique_id'),
        ]) }} as before_values,
        {{ build_json_object([
            ('new_title', 'new_title'),
            ('change_type', 'change_type'),
            ('previous_title', 'previous_title'),
            ('detected_at', 'detected_at'),
            ('intel_unique_id', 'intel_unique_id'),
        ]) }} as after_values,
        created_at
    from intelligence
)

select * from final
