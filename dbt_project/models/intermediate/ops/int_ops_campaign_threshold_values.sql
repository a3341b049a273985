{{ config(materialized='ephemeral') }}

{#-
    The campaign success criteria of the monitoring thresholds (metrics campaign_*, seed
    monitoring_thresholds) per campaign: the campaign's rate from
    marketing.campaign_performance (whole campaign), for the campaigns that sent in the
    threshold's time_window ending at as_of and reached var('campaign_alert_min_sends') in
    the rate's denominator (sends for delivery, delivered sends for the others), so a
    campaign three sends old raises nothing. Subject: the campaign's name. Evidence: the
    campaign and the day of its last send, so a campaign that keeps breaching while it
    sends is one alert a day. int_ops_threshold_values unions these rows in.
-#}

with

campaigns as (
    select * from {{ ref('campaign_performance') }}
    where grain = 'campaign'
),

scoped as (
    select * from {{ ref('int_ops_threshold_windows') }}
    where metric like 'campaign%'
),

measured as (
    select
        scoped.threshold_id,
        scoped.metric,
        scoped.window_start,
        scoped.evaluated_at,
        campaigns.campaign_name as subject,
        case scoped.metric
            when 'campaign_delivery_rate' then campaigns.delivery_rate
            when 'campaign_open_rate' then campaigns.open_rate
            when 'campaign_reply_rate' then campaigns.reply_rate
            when 'campaign_unsubscribe_rate' then campaigns.unsubscribe_rate
        end as observed_value,
        case scoped.metric
            when 'campaign_delivery_rate' then campaigns.sends
            else campaigns.delivered
        end as sample_size,
        {{ ops_evidence_key(
            'campaign',
            dbt.concat([
                'cast(campaigns.campaign_id as ' ~ dbt.type_string() ~ ')', "'|'",
                'cast(' ~ dbt.date_trunc('day', 'campaigns.last_sent_at') ~ ' as date)',
            ])
        ) }} as evidence_key
    from scoped
    inner join campaigns
        on
            (scoped.window_start is null or scoped.window_start < campaigns.last_sent_at)
            and scoped.evaluated_at >= campaigns.first_sent_at
),

final as (
    select * from measured
    where sample_size >= {{ var('campaign_alert_min_sends') }}
)

select * from final
