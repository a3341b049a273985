-- bit.signal candidates from the company page checks (int_company_page_checks), each keyed
-- by the event it names so the signal log emits it once:
--   website_down: the website failed at least two checks in a row since its last good
--     one (key: company + when the failing streak began: once per outage);
--   domain_changed: the newest good website check ended on another registrable domain
--     (key: company + the new domain);
--   headcount_change: the LinkedIn employee count moved by more than
--     var('headcount_change_share') between the last two LinkedIn checks (key: the check);
--   company_profile_changed: the LinkedIn name or industry changed between the last two
--     LinkedIn checks (key: the check).
-- A table (analysed when built): int_signal_candidates and two data tests each re-ran it
-- as a view over every company's check history (issue 18); it reads no `as_of`, so it
-- changes only with the checks and the companies, whose loads a refresh builds it after.
{{ config(materialized='table') }}

with

checks as (
    select * from {{ ref('int_company_page_checks') }}
),

website_checks as (
    select * from checks
    where url_type = 'website' and outcome <> 'robots_disallowed'
),

failing_streaks as (
    select
        company_id,
        min(checked_at) as failing_since,
        count(*) as failures
    from website_checks
    where in_failing_streak
    group by company_id
),

website_down as (
    select
        failing_streaks.company_id,
        'website_down' as reason,
        {{ company_signal_key(
            'website_down', 'failing_streaks.company_id', 'failing_streaks.failing_since'
        ) }} as signal_key,
        {{ build_json_object([
            ('url', 'latest.url'),
            ('failing_since', 'cast(failing_streaks.failing_since as ' ~ dbt.type_string() ~ ')'),
            ('failed_checks', 'failing_streaks.failures'),
            ('outcome', 'latest.outcome'),
            ('http_status', 'latest.http_status'),
            ('error', 'latest.error_message'),
        ]) }} as payload
    from failing_streaks
    inner join website_checks as latest
        on failing_streaks.company_id = latest.company_id and latest.check_rank = 1
    where failing_streaks.failures >= 2
),

latest_good_website as (
    select
        company_id,
        url,
        final_url,
        requested_domain,
        final_domain,
        checked_at,
        row_number() over (partition by company_id order by checked_at desc, check_id desc)
            as good_rank
    from website_checks
    where not is_failing and final_domain is not null
),

domain_changed as (
    select
        company_id,
        'domain_changed' as reason,
        {{ company_signal_key('domain_changed', 'company_id', 'final_domain') }} as signal_key,
        {{ build_json_object([
            ('url', 'url'),
            ('final_url', 'final_url'),
            ('previous_domain', 'requested_domain'),
            ('new_domain', 'final_domain'),
            ('checked_at', 'cast(checked_at as ' ~ dbt.type_string() ~ ')'),
        ]) }} as payload
    from latest_good_website
    where good_rank = 1 and final_domain <> requested_domain
),

linkedin_pages as (
    select
        company_id,
        check_id,
        checked_at,
        employee_count,
        linkedin_company_name,
        industry,
        row_number() over (partition by company_id order by checked_at desc, check_id desc)
            as page_rank
    from checks
    where url_type = 'linkedin' and not is_failing and linkedin_company_name is not null
),

linkedin_pairs as (
    select
        current_page.company_id,
        current_page.check_id,
        current_page.checked_at,
        previous_page.employee_count as previous_employee_count,
        current_page.employee_count,
        previous_page.linkedin_company_name as previous_linkedin_name,
        current_page.linkedin_company_name as linkedin_name,
        previous_page.industry as previous_industry,
        current_page.industry
    from linkedin_pages as current_page
    inner join linkedin_pages as previous_page
        on current_page.company_id = previous_page.company_id and previous_page.page_rank = 2
    where current_page.page_rank = 1
),

headcount_change as (
    select
        company_id,
        'headcount_change' as reason,
        {{ dbt.concat(["'headcount_change|'", 'check_id']) }} as signal_key,
        {{ build_json_object([
            ('previous_employee_count', 'previous_employee_count'),
            ('employee_count', 'employee_count'),
            ('share', 'round(cast(employee_count - previous_employee_count as numeric)'
                ~ ' / previous_employee_count, 4)'),
            ('checked_at', 'cast(checked_at as ' ~ dbt.type_string() ~ ')'),
        ]) }} as payload
    from linkedin_pairs
    where
        previous_employee_count > 0
        and employee_count is not null
        and abs(employee_count - previous_employee_count)
        > {{ var('headcount_change_share', 0.1) }} * previous_employee_count
),

profile_changed as (
    select
        company_id,
        'company_profile_changed' as reason,
        {{ dbt.concat(["'company_profile_changed|'", 'check_id']) }} as signal_key,
        {{ build_json_object([
            ('previous_name', 'previous_linkedin_name'),
            ('name', 'linkedin_name'),
            ('previous_industry', 'previous_industry'),
            ('industry', 'industry'),
            ('checked_at', 'cast(checked_at as ' ~ dbt.type_string() ~ ')'),
        ]) }} as payload
    from linkedin_pairs
    where
        linkedin_name <> previous_linkedin_name
        or coalesce(industry, '') <> coalesce(previous_industry, '')
),

final as (
    select
        signal_key,
        company_id,
        reason,
        payload
    from website_down
    union all
    select
        signal_key,
        company_id,
        reason,
        payload
    from domain_changed
    union all
    select
        signal_key,
        company_id,
        reason,
        payload
    from headcount_change
    union all
    select
        signal_key,
        company_id,
        reason,
        payload
    from profile_changed
)

select * from final
