{#-
    Per A/B test and variant (published as marketing.performance_metrics): the arm's sends,
    n (delivered), successes of the primary metric and rate, its open, click and reply
    rates (over delivered), and the test's statistics from the arm's side: z-test p-value,
    chance to win and expected loss (Beta(1,1) priors), SRM p-value. segment names the
    test, template_id the variant; measured_at is var('as_of').
-#}

with

results as (
    select * from {{ ref('int_ab_test_results') }}
),

sends as (
    select * from {{ ref('int_campaign_sends_attributed') }}
),

arms as (
    select
        results.*,
        'a' as arm,
        results.variant_a as variant,
        results.a_sends as arm_sends,
        results.a_n as n,
        results.a_successes as successes,
        results.a_rate as rate,
        1 - results.chance_b_beats_a as chance_to_win,
        results.expected_loss_a as expected_loss
    from results
    union all
    select
        results.*,
        'b' as arm,
        results.variant_b as variant,
        results.b_sends as arm_sends,
        results.b_n as n,
        results.b_successes as successes,
        results.b_rate as rate,
        results.chance_b_beats_a as chance_to_win,
        results.expected_loss_b as expected_loss
    from results
),

rates as (
    select
        arms.ab_test_id,
        arms.arm,
        min(sends.sent_at) as send_time,
        cast(sum(sends.is_human_opened) as {{ dbt.type_float() }}) / nullif(sum(sends.is_delivered), 0) as open_rate,
        cast(sum(sends.is_clicked) as {{ dbt.type_float() }}) / nullif(sum(sends.is_delivered), 0) as click_rate,
        cast(sum(sends.is_replied) as {{ dbt.type_float() }}) / nullif(sum(sends.is_delivered), 0) as reply_rate
    from arms
    inner join sends
        on
            arms.campaign_id = sends.campaign_id
            and arms.variant = sends.variant
            and (arms.campaign_step is null or arms.campaign_step = sends.campaign_step)
            and sends.sent_at >= coalesce(arms.start_at, arms.declared_at)
            and arms.declared_at <= sends.sent_at
            and (arms.end_at is null or arms.end_at > sends.sent_at)
    group by arms.ab_test_id, arms.arm
),

final as (
    select
        arms.test_name || '|' || arms.variant as performance_metric_id,
        arms.campaign_id,
        'ab_test:' || arms.test_name as segment,
        arms.variant as template_id,
        rates.send_time,
        rates.open_rate,
        rates.click_rate,
        rates.reply_rate,
        {{ as_of_timestamp() }} as measured_at,
        arms.test_name,
        arms.campaign_step,
        arms.primary_metric,
        arms.arm_sends as sends,
        arms.n,
        arms.successes,
        arms.rate,
        arms.z_score,
        arms.p_value,
        arms.chance_to_win,
        arms.expected_loss,
        arms.srm_p_value
    from arms
    left join rates on arms.ab_test_id = rates.ab_test_id and arms.arm = rates.arm
)

select * from final
