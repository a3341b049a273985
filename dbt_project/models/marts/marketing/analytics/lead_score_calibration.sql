{#-
    Does the lead score rank outcomes? (published as marketing.lead_score_calibration):
    contacts of marketing.lead_scores in ten score deciles (10 = the highest scores; ties
    split by contact_id), and per decile the contacts that booked a meeting
    (marketing.booking_event) or were handed off (marketing.ac_handoff) at or before
    var('as_of'), the meetings and hand-offs, and the rates over the decile's contacts.
-#}

with

scores as (
    select
        contact_id,
        lead_score,
        ntile(10) over (order by lead_score asc, contact_id asc) as score_decile
    from {{ ref('lead_scores') }}
),

bookings as (
    select
        contact_id,
        count(*) as meetings_booked
    from {{ ref('booking_event') }}
    where contact_id is not null and created_at <= {{ as_of_timestamp() }}
    group by contact_id
),

handoffs as (
    select
        contact_id,
        count(*) as handoffs
    from {{ ref('ac_handoff') }}
    where contact_id is not null and created_at <= {{ as_of_timestamp() }}
    group by contact_id
),

deciles as (
    select
        scores.score_decile,
        count(*) as contacts,
        min(scores.lead_score) as min_score,
        max(scores.lead_score) as max_score,
        avg(scores.lead_score) as avg_score,
        sum(case when bookings.contact_id is not null then 1 else 0 end) as contacts_booked,
        sum(case when handoffs.contact_id is not null then 1 else 0 end) as contacts_handed_off,
        coalesce(sum(bookings.meetings_booked), 0) as meetings_booked,
        coalesce(sum(handoffs.handoffs), 0) as handoffs
    from scores
    left join bookings on scores.contact_id = bookings.contact_id
    left join handoffs on scores.contact_id = handoffs.contact_id
    group by scores.score_decile
),

final as (
    select
        cast(score_decile as {{ dbt.type_int() }}) as score_decile,
        cast(contacts as {{ dbt.type_bigint() }}) as contacts,
        min_score,
        max_score,
        avg_score,
        cast(contacts_booked as {{ dbt.type_bigint() }}) as contacts_booked,
        cast(contacts_handed_off as {{ dbt.type_bigint() }}) as contacts_handed_off,
        cast(meetings_booked as {{ dbt.type_bigint() }}) as meetings_booked,
        cast(handoffs as {{ dbt.type_bigint() }}) as handoffs,
        cast(contacts_booked as {{ dbt.type_float() }}) / contacts as booked_rate,
        cast(contacts_handed_off as {{ dbt.type_float() }}) / contacts as handoff_rate,
        {{ as_of_timestamp() }} as scored_as_of
    from deciles
)

select * from final
