{{ config(materialized='view') }}

-- The lead-engine (PLE) outbox: one message per marketing.people_intelligence row, read by
-- the exporter (exports/outbox.py contract: a stable text id, a jsonb payload, created_at
-- for order). Priority per change type (seeds/change_type_priority.csv): high for
-- promotion and new_company, medium otherwise. Delivery is not part of this model.
-- A suppressed person (people.suppression_list) gets no message.
with

intelligence as (
    select
        intel_unique_id,
        person_unique_id,
        company_unique_id,
        change_type,
        metadata,
        created_at
    from {{ ref('people_intelligence') }}
),

suppressed_people as (
    select people.unique_id as person_unique_id
    from {{ ref('people_master') }} as people
    inner join {{ ref('suppression_list') }} as suppressed
        on people.contact_id = suppressed.contact_id
),

priorities as (
    select
        change_type,
        priority
    from {{ ref('change_type_priority') }}
),

final as (
    select
        intelligence.intel_unique_id as outbox_id,
        intelligence.person_unique_id,
        intelligence.company_unique_id,
        intelligence.change_type,
        priorities.priority,
        {{ build_json_object([
            ('person_id', 'intelligence.person_unique_id'),
            ('company_id', 'intelligence.company_unique_id'),
            ('change_type', 'intelligence.change_type'),
            ('source', "'linkedin'"),
            ('intel_id', 'intelligence.intel_unique_id'),
            ('priority', 'priorities.priority'),
            ('matched_company_id', json_text('intelligence.metadata', 'matched_company_unique_id')),
        ]) }} as payload,
        intelligence.created_at
    from intelligence
    inner join priorities on intelligence.change_type = priorities.change_type
    where intelligence.person_unique_id not in (
        select suppressed_people.person_unique_id from suppressed_people
    )
)

select * from final
