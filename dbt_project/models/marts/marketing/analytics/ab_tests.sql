{#-
    Declared A/B tests and their decision (published as marketing.ab_tests). A winner is
    named only when both arms reached min_sample_per_arm delivered sends, the split of
    sends matches the declared one (SRM p-value at least var('ab_srm_alpha')), and the
    z-test's p-value is below the declared alpha; otherwise state says why not:
    collecting (too few sends), sample_ratio_mismatch, no_difference.
-#}

with

results as (
    select * from {{ ref('int_ab_test_results') }}
),

decided as (
    select
        *,
        case
            when least(a_n, b_n) < min_sample_per_arm then 'collecting'
            when srm_p_value < {{ var('ab_srm_alpha') }} then 'sample_ratio_mismatch'
            when p_value is null or p_value >= alpha then 'no_difference'
            else 'winner'
        end as state
    from results
),

final as (
    select
        test_name,
        campaign_id,
        campaign_step,
        primary_metric,
        {{ build_json_object([
            ('variant', 'variant_a'), ('sends', 'a_sends'), ('n', 'a_n'),
            ('successes', 'a_successes'), ('rate', 'a_rate'),
        ]) }} as variant_a,
        {{ build_json_object([
            ('variant', 'variant_b'), ('sends', 'b_sends'), ('n', 'b_n'),
            ('successes', 'b_successes'), ('rate', 'b_rate'),
        ]) }} as variant_b,
        cast(coalesce(start_at, declared_at) as date) as start_date,
        cast(end_at as date) as end_date,
        case when state = 'winner' then case when b_rate > a_rate then variant_b else variant_a end end
            as winner,
        state,
        case state
            when 'collecting'
                then
                    'too few sends: ' || cast(least(a_n, b_n) as {{ dbt.type_string() }})
                    || ' delivered in the smaller arm of ' || cast(min_sample_per_arm as {{ dbt.type_string() }})
                    || ' declared'
            when 'sample_ratio_mismatch'
                then
                    'sample ratio mismatch: sends split ' || cast(a_sends as {{ dbt.type_string() }})
                    || ' / ' || cast(b_sends as {{ dbt.type_string() }}) || ', SRM p < '
                    || cast({{ var('ab_srm_alpha') }} as {{ dbt.type_string() }})
            when 'no_difference'
                then 'no significant difference at alpha ' || cast(alpha as {{ dbt.type_string() }})
            else 'significant at alpha ' || cast(alpha as {{ dbt.type_string() }})
        end as state_reason,
        min_sample_per_arm,
        alpha,
        expected_share_a,
        a_n,
        b_n,
        a_successes,
        b_successes,
        a_rate,
        b_rate,
        z_score,
        p_value,
        chance_b_beats_a,
        expected_loss_a,
        expected_loss_b,
        srm_chi_square,
        srm_p_value,
        declared_at,
        first_sent_at,
        last_sent_at
    from decided
)

select * from final
