-- Buyer-intent signals due on as_of, each with a key that names its event, so the signal
-- log (int_signal_keys) emits it once: renewal_window_open_120d once per company and
-- renewal cycle (key: company + next_renewal_date) while the window is open, with the
-- dates and the company's green slot contacts in the payload; executive_movement from
-- change detection (int_executive_movement_signals); website_down, domain_changed,
-- headcount_change, company_profile_changed from the company page checks
-- (int_company_page_signals).
-- A table (analysed when built): its one reader, int_signal_keys, and its four data tests
-- each re-ran it as a view, about 10 s apiece at 50k people (issue 18).
{{ config(materialized='table') }}

with

open_windows as (
    select
        company_id,
        renewal_month,
        renewal_notice_window_days,
        next_renewal_date,
        campaign_window_start,
        as_of_date
    from {{ ref('int_company_renewals') }}
    where is_window_open
),

green_slot_contacts as (
    select
        slots.company_id,
        slots.role_code,
        slots.contact_id,
        contacts.full_name,
        contacts.email,
        verification.email_confidence
    from {{ ref('company_slot') }} as slots
    inner join {{ ref('contact_verification') }} as verification
        on slots.contact_id = verification.contact_id
    inner join {{ ref('contact') }} as contacts
        on slots.contact_id = contacts.contact_id
    where
        verification.email_status = 'green'
        and slots.contact_id not in (
            select suppressed.contact_id from {{ ref('suppression_list') }} as suppressed
            where suppressed.contact_id is not null
        )
),

green_contacts as (
    select
        company_id,
        {{ json_array_agg(
            build_json_object([
                ('contact_id', 'contact_id'),
                ('role_code', 'role_code'),
                ('full_name', 'full_name'),
                ('email', 'email'),
                ('email_confidence', 'email_confidence'),
            ]),
            'role_code'
        ) }} as contacts
    from green_slot_contacts
    group by company_id
),

renewal_signals as (
    select
        open_windows.company_id,
        'renewal_window_open_120d' as reason,
        {{ company_signal_key(
            'renewal_window_open_120d', 'open_windows.company_id', 'open_windows.next_renewal_date'
        ) }} as signal_key,
        {{ build_json_object([
            ('renewal_month', 'open_windows.renewal_month'),
            ('next_renewal_date', 'cast(open_windows.next_renewal_date as ' ~ dbt.type_string() ~ ')'),
            ('campaign_window_start', 'cast(open_windows.campaign_window_start as ' ~ dbt.type_string() ~ ')'),
            ('renewal_notice_window_days', 'open_windows.renewal_notice_window_days'),
            ('detected_on', 'cast(open_windows.as_of_date as ' ~ dbt.type_string() ~ ')'),
            ('has_green_contact', 'green_contacts.company_id is not null'),
            ('green_contacts', 'coalesce(green_contacts.contacts, ' ~ json_empty_array() ~ ')'),
        ]) }} as payload
    from open_windows
    left join green_contacts on open_windows.company_id = green_contacts.company_id
),

executive_movement_signals as (
    select
        signal_key,
        company_id,
        reason,
        payload
    from {{ ref('int_executive_movement_signals') }}
),

company_page_signals as (
    select
        signal_key,
        company_id,
        reason,
        payload
    from {{ ref('int_company_page_signals') }}
),

final as (
    select
        signal_key,
        company_id,
        reason,
        payload
    from renewal_signals
    union all
    select
        signal_key,
        company_id,
        reason,
        payload
    from executive_movement_signals
    union all
    select
        signal_key,
        company_id,
        reason,
        payload
    from company_page_signals
)

select * from final
