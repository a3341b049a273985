{#-
    A transparent lead score per contact (published as marketing.lead_scores), as of
    var('as_of'): the sum of four parts, each a column, with the weights of
    seeds/lead_score_weights.csv. intent: each bit.signal of the contact's employer created
    at or before as_of, its reason's points halved every var('lead_score_half_life_days')
    days of age. engagement: per campaign send to the contact, points for a reply, a
    click, a human open, a machine open (0). seniority: points per level of the title's
    seniority (seeds/title_seniority.csv). verification: points by email status. A
    suppressed contact (people.suppression_list at build time) scores 0, its parts kept.
-#}

with

contacts as (
    select
        contact.contact_id,
        contact.title,
        people.employer_company_id
    from {{ ref('contact') }} as contact
    left join {{ ref('int_person_records_deduplicated') }} as people
        on contact.contact_id = people.contact_id
),

weights as (
    select * from {{ ref('lead_score_weights') }}
),

{%- set engagement_items = ['replied', 'clicked', 'human_opened', 'machine_opened'] %}

engagement_weights as (
    select
        {% for item in engagement_items -%}
            coalesce(max(case when part = 'engagement' and item = '{{ item }}' then points end), 0)
                as {{ item }}_points,
        {% endfor -%}
        coalesce(max(case when part = 'seniority' and item = 'level' then points end), 0)
            as level_points
    from weights
),

signal_points as (
    select
        signals.company_id,
        count(*) as signals,
        sum(
            coalesce(weights.points, 0)
            * power(
                0.5,
                {{ seconds_between('signals.created_at', as_of_timestamp()) }}
                / (86400.0 * {{ var('lead_score_half_life_days') }})
            )
        ) as intent_points
    from {{ ref('signal') }} as signals
    left join weights on weights.part = 'intent' and signals.reason = weights.item
    where signals.created_at <= {{ as_of_timestamp() }}
    group by signals.company_id
),

engagement as (
    select
        contact_id,
        sum(is_replied) as replies,
        sum(is_clicked) as clicks,
        sum(is_human_opened) as human_opens,
        sum(is_machine_opened) as machine_opens
    from {{ ref('int_campaign_sends_attributed') }}
    where contact_id is not null and sent_at <= {{ as_of_timestamp() }}
    group by contact_id
),

titles as (
    select distinct title
    from contacts
    where title is not null
),

seniority as (
    {{ title_seniority('titles') }}
),

verification as (
    select
        verified.contact_id,
        verified.email_status,
        coalesce(weights.points, 0) as verification_points
    from {{ ref('contact_verification') }} as verified
    left join weights on weights.part = 'verification' and verified.email_status = weights.item
),

suppressed as (
    select distinct contact_id
    from {{ ref('suppression_list') }}
    where contact_id is not null
),

parts as (
    select
        contacts.contact_id,
        contacts.employer_company_id,
        seniority.level_code as seniority_level,
        verification.email_status,
        coalesce(signal_points.signals, 0) as signals,
        coalesce(signal_points.intent_points, 0) as intent_points,
        coalesce(engagement.replies, 0) as replies,
        coalesce(engagement.clicks, 0) as clicks,
        coalesce(engagement.human_opens, 0) as human_opens,
        coalesce(engagement.machine_opens, 0) as machine_opens,
        coalesce(engagement.replies, 0) * engagement_weights.replied_points as reply_points,
        coalesce(engagement.clicks, 0) * engagement_weights.clicked_points as click_points,
        coalesce(engagement.human_opens, 0) * engagement_weights.human_opened_points as human_open_points,
        coalesce(engagement.machine_opens, 0) * engagement_weights.machine_opened_points as machine_open_points,
        coalesce(seniority.level_rank, 0) as seniority_rank,
        coalesce(seniority.level_rank, 0) * engagement_weights.level_points as seniority_points,
        coalesce(verification.verification_points, 0) as verification_points,
        suppressed.contact_id is not null as is_suppressed
    from contacts
    cross join engagement_weights
    left join signal_points on contacts.employer_company_id = signal_points.company_id
    left join engagement on contacts.contact_id = engagement.contact_id
    left join seniority on contacts.title = seniority.title
    left join verification on contacts.contact_id = verification.contact_id
    left join suppressed on contacts.contact_id = suppressed.contact_id
),

final as (
    select
        contact_id,
        cast(
            case
                when is_suppressed then 0
                else
                    intent_points + reply_points + click_points + human_open_points
                    + machine_open_points + seniority_points + verification_points
            end as {{ dbt.type_float() }}
        ) as lead_score,
        cast(intent_points as {{ dbt.type_float() }}) as intent_points,
        cast(reply_points + click_points + human_open_points + machine_open_points as {{ dbt.type_float() }})
            as engagement_points,
        cast(seniority_points as {{ dbt.type_float() }}) as seniority_points,
        cast(verification_points as {{ dbt.type_float() }}) as verification_points,
        is_suppressed,
        employer_company_id as company_id,
        cast(signals as {{ dbt.type_bigint() }}) as signals,
        cast(replies as {{ dbt.type_bigint() }}) as replies,
        cast(clicks as {{ dbt.type_bigint() }}) as clicks,
        cast(human_opens as {{ dbt.type_bigint() }}) as human_opens,
        cast(machine_opens as {{ dbt.type_bigint() }}) as machine_opens,
        cast(reply_points as {{ dbt.type_float() }}) as reply_points,
        cast(click_points as {{ dbt.type_float() }}) as click_points,
        cast(human_open_points as {{ dbt.type_float() }}) as human_open_points,
        cast(machine_open_points as {{ dbt.type_float() }}) as machine_open_points,
        seniority_level,
        seniority_rank,
        email_status,
        {{ as_of_timestamp() }} as scored_as_of
    from parts
)

select * from final
