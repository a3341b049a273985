{{ config(pre_hook="{{ bulk_model_settings() }}") }}

{#-
    Campaign funnel totals (published as marketing.campaign_performance): one row per
    campaign (grain 'campaign') and one per campaign x step x variant (grain 'variant'),
    summed from one row per send (int_campaign_sends_attributed), so no join can fan the
    counts out. Counts are of sends (unique: a send opened five times is one open). Opens
    are human opens only (machine and privacy-proxy opens are counted apart). Rates:
    delivery and bounces over sends; opens, clicks, replies, unsubscribes, complaints,
    meetings and hand-offs over delivered sends; click_to_open over human opens.
-#}

with

sends as (
    select * from {{ ref('int_campaign_sends_attributed') }}
),

campaigns as (
    select
        campaign_id,
        name as campaign_name
    from {{ ref('campaign') }}
),

{%- set measures = [
    ('sends', 'count(*)'),
    ('delivered', 'sum(is_delivered)'),
    ('hard_bounces', 'sum(is_hard_bounced)'),
    ('soft_bounces', 'sum(is_soft_bounced)'),
    ('unique_human_opens', 'sum(is_human_opened)'),
    ('machine_opens', 'sum(is_machine_opened)'),
    ('unique_clicks', 'sum(is_clicked)'),
    ('replies', 'sum(is_replied)'),
    ('unsubscribes', 'sum(is_unsubscribed)'),
    ('complaints', 'sum(is_complained)'),
    ('meetings_booked', 'sum(is_booked)'),
    ('handoffs', 'sum(is_handed_off)'),
] %}
{%- set rates = [
    ('delivery_rate', 'delivered', 'sends'),
    ('hard_bounce_rate', 'hard_bounces', 'sends'),
    ('soft_bounce_rate', 'soft_bounces', 'sends'),
    ('open_rate', 'unique_human_opens', 'delivered'),
    ('click_rate', 'unique_clicks', 'delivered'),
    ('click_to_open_rate', 'unique_clicks', 'unique_human_opens'),
    ('reply_rate', 'replies', 'delivered'),
    ('unsubscribe_rate', 'unsubscribes', 'delivered'),
    ('complaint_rate', 'complaints', 'delivered'),
    ('meeting_rate', 'meetings_booked', 'delivered'),
    ('handoff_rate', 'handoffs', 'delivered'),
] %}

-- one pass over the sends per campaign x step x variant; the campaign rows sum those
-- (every measure is a count or a sum, first / last sent are min / max)
variants as (
    select
        campaign_id,
        campaign_step,
        variant,
        {% for name, expr in measures -%}
            {{ expr }} as {{ name }},
        {% endfor -%}
        min(sent_at) as first_sent_at,
        max(sent_at) as last_sent_at
    from sends
    group by campaign_id, campaign_step, variant
),

grouped as (
    select
        'campaign' as grain,
        campaign_id,
        cast(null as {{ dbt.type_string() }}) as campaign_step,
        cast(null as {{ dbt.type_string() }}) as variant,
        {% for name, _expr in measures -%}
            sum({{ name }}) as {{ name }},
        {% endfor -%}
        min(first_sent_at) as first_sent_at,
        max(last_sent_at) as last_sent_at
    from variants
    group by campaign_id
    union all
    select
        'variant' as grain,
        campaign_id,
        campaign_step,
        variant,
        {% for name, _expr in measures -%}
            {{ name }},
        {% endfor -%}
        first_sent_at,
        last_sent_at
    from variants
),

final as (
    select
        cast({{ dbt.concat([
            'grouped.grain', "'|'", 'cast(grouped.campaign_id as ' ~ dbt.type_string() ~ ')',
            "'|'", "coalesce(grouped.campaign_step, '')", "'|'", "coalesce(grouped.variant, '')",
        ]) }} as {{ dbt.type_string() }}) as performance_key,
        grouped.grain,
        grouped.campaign_id,
        campaigns.campaign_name,
        grouped.campaign_step,
        grouped.variant,
        {% for name, _expr in measures -%}
            cast(grouped.{{ name }} as {{ dbt.type_bigint() }}) as {{ name }},
        {% endfor -%}
        {% for name, numerator, denominator in rates -%}
            cast(grouped.{{ numerator }} as {{ dbt.type_float() }}) / nullif(grouped.{{ denominator }}, 0)
                as {{ name }},
        {% endfor -%}
        grouped.first_sent_at,
        grouped.last_sent_at
    from grouped
    left join campaigns on grouped.campaign_id = campaigns.campaign_id
)

select * from final
