{{ config(materialized='view') }}
-- Meetings booked (published as marketing.booking_event): Calendly invitee.created webhooks
-- whose invitee was not canceled since (a reschedule is a cancel plus a create, so it
-- leaves one booking, the new one). event_time is the meeting's start; the contact is
-- matched by email, the company is the contact's employer.
with

bookings as (
    select
        booking_seq,
        event_type,
        email,
        occurred_at,
        scheduled_start,
        invitee_uri,
        booking_source
    from {{ ref('stg_events__booking_events') }}
),

canceled as (
    select distinct invitee_uri
    from bookings
    where event_type = 'invitee.canceled' and invitee_uri is not null
),

contacts as (
    select
        contact_id,
        email,
        employer_company_id
    from {{ ref('int_person_records_deduplicated') }}
    where email is not null
),

final as (
    select
        bookings.booking_seq as booking_event_id,
        contacts.contact_id,
        contacts.employer_company_id as company_id,
        bookings.scheduled_start as event_time,
        bookings.booking_source as source,  -- noqa: RF04
        bookings.occurred_at as created_at
    from bookings
    left join canceled on bookings.invitee_uri = canceled.invitee_uri
    left join contacts on bookings.email = contacts.email
    where bookings.event_type = 'invitee.created' and canceled.invitee_uri is null
)

select * from final
