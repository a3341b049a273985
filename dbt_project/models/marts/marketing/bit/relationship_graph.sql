{{
    config(
        indexes=[
            {'columns': ['contact_a_id', 'contact_b_id', 'relationship_type'], 'unique': True},
            {'columns': ['contact_b_id']},
        ],
    )
}}

{#-
    Who knows whom (published as marketing.relationship_graph): one row per unordered pair
    of contacts (contact_a_id < contact_b_id) and relationship type. Rules, and the size
    cap that keeps the pairs from growing quadratically: _marketing__bit.yml.
-#}

{%- set max_contacts = var('relationship_max_company_contacts') %}

with

current_positions as (
    select
        people.contact_id,
        companies.company_id,
        people.created_at
    from {{ ref('people_master') }} as people
    inner join {{ ref('company_master') }} as companies
        on people.company_unique_id = companies.company_unique_id
),

current_sizes as (
    select company_id
    from current_positions
    group by company_id
    having count(*) <= {{ max_contacts }}
),

colleagues as (
    select
        a.contact_id as contact_a_id,
        b.contact_id as contact_b_id,
        'colleague' as relationship_type,
        case when a.created_at > b.created_at then a.created_at else b.created_at end as discovered_at
    from current_positions as a
    inner join current_sizes on a.company_id = current_sizes.company_id
    inner join current_positions as b
        on a.company_id = b.company_id and a.contact_id < b.contact_id
),

stints as (
    select * from {{ ref('int_contact_employment_stints') }}
),

stint_sizes as (
    select company_id
    from stints
    group by company_id
    having count(distinct contact_id) <= {{ max_contacts }}
),

former_colleagues as (
    select
        a.contact_id as contact_a_id,
        b.contact_id as contact_b_id,
        'former_colleague' as relationship_type,
        case when a.started_at > b.started_at then a.started_at else b.started_at end as discovered_at
    from stints as a
    inner join stint_sizes on a.company_id = stint_sizes.company_id
    inner join stints as b
        on
            a.company_id = b.company_id
            and a.contact_id < b.contact_id
            and a.started_at < coalesce(b.ended_at, {{ as_of_timestamp() }})
            and b.started_at < coalesce(a.ended_at, {{ as_of_timestamp() }})
    where a.ended_at is not null or b.ended_at is not null
),

contact_emails as (
    {{ one_contact_per(ref('contact'), 'email') }}
),

-- a booker who adds a guest to the meeting brings that contact
referrals as (
    select
        case when inviters.contact_id < guests.contact_id then inviters.contact_id else guests.contact_id end
            as contact_a_id,
        case when inviters.contact_id < guests.contact_id then guests.contact_id else inviters.contact_id end
            as contact_b_id,
        'referral' as relationship_type,
        booking_guests.occurred_at as discovered_at
    from {{ ref('stg_events__booking_guests') }} as booking_guests
    inner join contact_emails as inviters on booking_guests.invitee_email = inviters.email
    inner join contact_emails as guests on booking_guests.guest_email = guests.email
    where booking_guests.event_type = 'invitee.created' and inviters.contact_id <> guests.contact_id
),

all_pairs as (
    select * from colleagues
    union all
    select * from former_colleagues
    union all
    select * from referrals
),

-- contacts suppressed for GDPR are in no pair (as in marketing.contact_timeline)
gdpr_suppressed as (
    select distinct contact_id
    from {{ ref('suppression_list') }}
    where reason = 'gdpr' and contact_id is not null
),

final as (
    select
        contact_a_id,
        contact_b_id,
        relationship_type,
        min(discovered_at) as discovered_at
    from all_pairs
    where
        contact_a_id not in (select gdpr_suppressed.contact_id from gdpr_suppressed)
        and contact_b_id not in (select gdpr_suppressed.contact_id from gdpr_suppressed)
    group by contact_a_id, contact_b_id, relationship_type
)

select * from final
