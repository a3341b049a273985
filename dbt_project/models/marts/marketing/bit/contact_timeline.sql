{{
    config(
        indexes=[
            {'columns': ['contact_id', 'event_seq'], 'unique': True},
            {'columns': ['event_timestamp']},
        ],
    )
}}

{#-
    One ordered stream per contact of everything the warehouse knows (published as
    marketing.contact_timeline): intake rows, email verifications, LinkedIn changes,
    executive-movement signals, campaign messages, email events (opens split human /
    machine), bookings and hand-offs. Each row names its source system and the id there.
    event_data holds ids and non-personal attributes only (no address, name, body or
    notes): those stay in their sources, where GDPR erasure and suppression apply; contacts
    erased or suppressed for GDPR are left out altogether. A table rebuilt by each build
    (why not incremental: _marketing__bit.yml).
-#}

with

contacts as (
    select
        contact_id,
        email
    from {{ ref('contact') }}
),

gdpr_suppressed as (
    select distinct contact_id
    from {{ ref('suppression_list') }}
    where reason = 'gdpr' and contact_id is not null
),

person_keys as (
    select
        alias_key,
        contact_seq
    from {{ ref('int_person_keys') }}
),

intake as (
    select
        person_keys.contact_seq as contact_id,
        intake_rows.loaded_at as event_timestamp,
        'intake_loaded' as event_type,
        'raw_intake.people' as source,  -- noqa: RF04
        intake_rows.row_key as source_id,
        {{ build_json_object([
            ('source_file', 'intake_rows.source_file'),
            ('source_row_number', 'intake_rows.source_row_number'),
            ('company_id', 'intake_rows.employer_company_id'),
        ]) }} as event_data
    from {{ ref('int_person_employers_resolved') }} as intake_rows
    inner join person_keys on intake_rows.person_identity = person_keys.alias_key
),

verifications as (
    select
        contacts.contact_id,
        checks.checked_at as event_timestamp,
        'email_verified' as event_type,
        'raw_verifier.email_checks' as source,  -- noqa: RF04
        cast(checks.check_id as {{ dbt.type_string() }}) as source_id,
        {{ build_json_object([('result', 'checks.result'), ('quality', 'checks.quality')]) }} as event_data
    from {{ ref('stg_millionverifier__email_checks') }} as checks
    inner join contacts on checks.email = contacts.email
),

people as (
    select
        unique_id,
        contact_id
    from {{ ref('people_master') }}
),

linkedin_changes as (
    select
        people.contact_id,
        changes.detected_at as event_timestamp,
        {{ dbt.concat(["'linkedin_'", 'changes.change_type']) }} as event_type,
        'marketing.people_intelligence' as source,  -- noqa: RF04
        changes.intel_unique_id as source_id,
        {{ build_json_object([
            ('previous_title', 'changes.previous_title'),
            ('new_title', 'changes.new_title'),
            ('company_unique_id', 'changes.company_unique_id'),
        ]) }} as event_data
    from {{ ref('people_intelligence') }} as changes
    inner join people on changes.person_unique_id = people.unique_id
),

signals as (
    select
        people.contact_id,
        signals.created_at as event_timestamp,
        {{ dbt.concat(["'signal_'", 'signals.reason']) }} as event_type,
        'bit.signal' as source,  -- noqa: RF04
        cast(signals.signal_id as {{ dbt.type_string() }}) as source_id,
        {{ build_json_object([
            ('company_id', 'signals.company_id'),
            ('processed_at', 'signals.processed_at'),
        ]) }} as event_data
    from {{ ref('signal') }} as signals
    inner join people on {{ json_text('signals.payload', 'person_unique_id') }} = people.unique_id
),

messages as (
    select
        contact_id,
        sent_at as event_timestamp,
        case direction when 'inbound' then 'message_replied' else 'message_sent' end as event_type,
        'marketing.message_log' as source,  -- noqa: RF04
        cast(message_log_id as {{ dbt.type_string() }}) as source_id,
        {{ build_json_object([('campaign_id', 'campaign_id'), ('channel', 'channel')]) }} as event_data
    from {{ ref('message_log') }}
    where contact_id is not null
),

email_events as (
    select
        contact_id,
        occurred_at as event_timestamp,
        case
            when event_type = 'opened' and is_machine_open then 'email_opened_machine'
            when event_type = 'opened' then 'email_opened_human'
            else {{ dbt.concat(["'email_'", 'event_type']) }}
        end as event_type,
        source,  -- noqa: RF04
        engagement_event_id as source_id,
        {{ build_json_object([
            ('campaign_id', 'campaign_id'),
            ('provider_message_id', 'provider_message_id'),
            ('campaign_step', 'campaign_step'),
            ('variant', 'variant'),
            ('bounce_kind', 'bounce_kind'),
        ]) }} as event_data
    from {{ ref('engagement_events') }}
    where contact_id is not null and source in ('sendgrid', 'ses')
),

bookings as (
    select
        contact_id,
        created_at as event_timestamp,
        'meeting_booked' as event_type,
        'marketing.booking_event' as source,  -- noqa: RF04
        cast(booking_event_id as {{ dbt.type_string() }}) as source_id,
        {{ build_json_object([('meeting_at', 'event_time'), ('company_id', 'company_id'), ('tool', 'source')]) }}
            as event_data
    from {{ ref('booking_event') }}
    where contact_id is not null
),

handoffs as (
    select
        contact_id,
        created_at as event_timestamp,
        'handed_off' as event_type,
        'marketing.ac_handoff' as source,  -- noqa: RF04
        cast(handoff_id as {{ dbt.type_string() }}) as source_id,
        {{ build_json_object([('company_id', 'company_id')]) }} as event_data
    from {{ ref('ac_handoff') }}
    where contact_id is not null
),

all_events as (
    select * from intake
    union all
    select * from verifications
    union all
    select * from linkedin_changes
    union all
    select * from signals
    union all
    select * from messages
    union all
    select * from email_events
    union all
    select * from bookings
    union all
    select * from handoffs
),

final as (
    select
        all_events.contact_id,
        all_events.event_timestamp,
        all_events.event_type,
        all_events.source,
        all_events.source_id,
        all_events.event_data,
        row_number() over (
            partition by all_events.contact_id
            order by all_events.event_timestamp, all_events.source, all_events.source_id
        ) as event_seq
    from all_events
    -- current contacts only (an erased person's keys outlive them in the key map)
    inner join contacts on all_events.contact_id = contacts.contact_id
    where
        all_events.event_timestamp is not null
        and all_events.contact_id not in (select gdpr_suppressed.contact_id from gdpr_suppressed)
)

select * from final
