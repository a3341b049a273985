-- The additional guests of each Calendly booking webhook (payload.scheduled_event.event_guests,
-- Calendly v2: {email, created_at, updated_at}), one row per guest: the invitee who booked
-- brought them (marketing.relationship_graph, referrals).
with

source as (
    select * from {{ source('events', 'booking_events') }}
),

guests as (
    select
        source.event_key,
        cast(source.booking_seq as {{ dbt.type_bigint() }}) as booking_seq,
        source.event_type,
        {{ normalize_email('source.email') }} as invitee_email,
        {{ normalize_email(json_text('guest.value', 'email')) }} as guest_email,
        source.occurred_at
    from source
    {{ json_array_elements_at('source.payload', ['payload', 'scheduled_event', 'event_guests'], 'guest') }}
),

final as (
    select
        event_key,
        booking_seq,
        event_type,
        invitee_email,
        guest_email,
        occurred_at
    from guests
    where guest_email is not null
)

select * from final
