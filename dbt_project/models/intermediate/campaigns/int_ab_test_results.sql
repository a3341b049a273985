{#-
    One row per declared A/B test (stg_campaigns__ab_tests) with both arms' counts and the
    statistics, from the sends made at or after the declaration (and start_at, before
    end_at) of the test's campaign (and step) carrying either variant
    (int_campaign_sends_attributed). n = delivered sends; successes = delivered sends with
    the primary metric (reply, human open, click, meeting). Statistics (macros/stats):
    two-proportion z-test with pooled variance, two-sided p-value; Bayesian chance that B
    beats A and expected losses under Beta(1,1) priors, by the normal approximation of the
    two Beta posteriors; sample-ratio mismatch: chi-square goodness of fit of the sends per
    arm against the declared split (1 df, p from the normal CDF).
-#}

with

tests as (
    select * from {{ ref('stg_campaigns__ab_tests') }}
),

sends as (
    select * from {{ ref('int_campaign_sends_attributed') }}
),

arm_sends as (
    select
        tests.ab_test_id,
        sends.sent_at,
        sends.is_delivered,
        case when sends.variant = tests.variant_a then 'a' else 'b' end as arm,
        sends.is_delivered * case tests.primary_metric
            when 'reply' then sends.is_replied
            when 'open' then sends.is_human_opened
            when 'click' then sends.is_clicked
            when 'meeting' then sends.is_booked
        end as is_success
    from tests
    inner join sends
        on
            tests.campaign_id = sends.campaign_id
            and sends.variant in (tests.variant_a, tests.variant_b)
            and (tests.campaign_step is null or tests.campaign_step = sends.campaign_step)
            and sends.sent_at >= coalesce(tests.start_at, tests.declared_at)
            and tests.declared_at <= sends.sent_at
            and (tests.end_at is null or tests.end_at > sends.sent_at)
),

counted as (
    select
        ab_test_id,
        sum(case when arm = 'a' then 1 else 0 end) as a_sends,
        sum(case when arm = 'b' then 1 else 0 end) as b_sends,
        sum(case when arm = 'a' then is_delivered else 0 end) as a_n,
        sum(case when arm = 'b' then is_delivered else 0 end) as b_n,
        sum(case when arm = 'a' then is_success else 0 end) as a_successes,
        sum(case when arm = 'b' then is_success else 0 end) as b_successes,
        min(sent_at) as first_sent_at,
        max(sent_at) as last_sent_at
    from arm_sends
    group by ab_test_id
),

with_counts as (
    select
        tests.*,
        counted.first_sent_at,
        counted.last_sent_at,
        coalesce(counted.a_sends, 0) as a_sends,
        coalesce(counted.b_sends, 0) as b_sends,
        coalesce(counted.a_n, 0) as a_n,
        coalesce(counted.b_n, 0) as b_n,
        coalesce(counted.a_successes, 0) as a_successes,
        coalesce(counted.b_successes, 0) as b_successes
    from tests
    left join counted on tests.ab_test_id = counted.ab_test_id
),

moments as (
    select
        *,
        cast(a_successes as {{ dbt.type_float() }}) / nullif(a_n, 0) as a_rate,
        cast(b_successes as {{ dbt.type_float() }}) / nullif(b_n, 0) as b_rate,
        cast(a_successes + b_successes as {{ dbt.type_float() }}) / nullif(a_n + b_n, 0) as pooled_rate,
        -- Beta(1 + successes, 1 + failures) posteriors: mean and variance
        (1.0 + a_successes) / (2.0 + a_n) as a_post_mean,
        (1.0 + b_successes) / (2.0 + b_n) as b_post_mean,
        (1.0 + a_successes) * (1.0 + a_n - a_successes) / ((2.0 + a_n) * (2.0 + a_n) * (3.0 + a_n)) as a_post_var,
        (1.0 + b_successes) * (1.0 + b_n - b_successes) / ((2.0 + b_n) * (2.0 + b_n) * (3.0 + b_n)) as b_post_var,
        -- chi-square of the split of sends against the declared share of A
        case
            when a_sends + b_sends > 0 then
                power(a_sends - (a_sends + b_sends) * expected_share_a, 2)
                / ((a_sends + b_sends) * expected_share_a)
                + power(b_sends - (a_sends + b_sends) * (1 - expected_share_a), 2)
                / ((a_sends + b_sends) * (1 - expected_share_a))
        end as srm_chi_square
    from with_counts
),

scored as (
    select
        *,
        case
            when a_n > 0 and b_n > 0
                then (b_rate - a_rate) / nullif(sqrt(pooled_rate * (1 - pooled_rate) * (1.0 / a_n + 1.0 / b_n)), 0)
        end as z_score,
        (b_post_mean - a_post_mean) / sqrt(a_post_var + b_post_var) as bayes_z,
        sqrt(a_post_var + b_post_var) as bayes_sd
    from moments
),

final as (
    select
        *,
        2 * (1 - {{ normal_cdf('abs(z_score)') }}) as p_value,
        {{ normal_cdf('bayes_z') }} as chance_b_beats_a,
        -- E[max(p_a - p_b, 0)] and E[max(p_b - p_a, 0)] for normal p_b - p_a
        bayes_sd * {{ normal_pdf('bayes_z') }} - (b_post_mean - a_post_mean) * (1 - {{ normal_cdf('bayes_z') }})
            as expected_loss_b,
        bayes_sd * {{ normal_pdf('bayes_z') }} + (b_post_mean - a_post_mean) * {{ normal_cdf('bayes_z') }}
            as expected_loss_a,
        2 * (1 - {{ normal_cdf('sqrt(srm_chi_square)') }}) as srm_p_value
    from scored
)

select * from final
