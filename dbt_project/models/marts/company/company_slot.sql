-- Exactly three slots (CEO, CFO, HR) per company, each filled with the best-matching
-- contact employed there, or left empty. company_slot_id = company_id * 10 + 1/2/3.
-- Best: the most senior title pattern (seed priority), then the best-verified email
-- (green, yellow, gray, red, none; then confidence), then the lowest contact_id.
with

companies as (
    select
        company_id,
        created_at,
        updated_at
    from {{ ref('int_company_records_deduplicated') }}
),

roles as (
    select
        'CEO' as role_code,
        1 as role_number
    union all
    select
        'CFO' as role_code,
        2 as role_number
    union all
    select
        'HR' as role_code,
        3 as role_number
),

contacts as (
    select
        people.contact_id,
        people.employer_company_id,
        people.updated_at,
        lower(people.title) as title,
        coalesce(verified.status_rank, 5) as email_status_rank,
        coalesce(verified.email_confidence, -1) as email_confidence
    from {{ ref('int_person_records_deduplicated') }} as people
    left join {{ ref('int_contact_emails_verified') }} as verified
        on people.contact_id = verified.contact_id
    where people.employer_company_id is not null and people.title is not null
),

title_patterns as (
    select
        role_code,
        pattern,
        exclude_pattern,
        priority
    from {{ ref('slot_title_patterns') }}
),

matches as (
    select
        contacts.employer_company_id as company_id,
        title_patterns.role_code,
        contacts.contact_id,
        contacts.updated_at,
        contacts.email_status_rank,
        contacts.email_confidence,
        min(title_patterns.priority) as priority
    from contacts
    inner join title_patterns
        on
            {{ regex_matches('contacts.title', 'title_patterns.pattern') }}
            and (
                title_patterns.exclude_pattern is null
                or not {{ regex_matches('contacts.title', 'title_patterns.exclude_pattern') }}
            )
    group by
        contacts.employer_company_id,
        title_patterns.role_code,
        contacts.contact_id,
        contacts.updated_at,
        contacts.email_status_rank,
        contacts.email_confidence
),

ranked_matches as (
    select
        company_id,
        role_code,
        contact_id,
        updated_at,
        row_number() over (
            partition by company_id, role_code
            order by priority asc, email_status_rank asc, email_confidence desc, contact_id asc
        ) as match_rank
    from matches
),

best_matches as (
    select
        company_id,
        role_code,
        contact_id,
        updated_at
    from ranked_matches
    where match_rank = 1
),

slots as (
    select
        companies.company_id,
        roles.role_code,
        best_matches.contact_id,
        companies.created_at,
        companies.company_id * 10 + roles.role_number as company_slot_id,
        case
            when best_matches.updated_at > companies.updated_at then best_matches.updated_at
            else companies.updated_at
        end as updated_at
    from companies
    cross join roles
    left join best_matches
        on
            companies.company_id = best_matches.company_id
            and roles.role_code = best_matches.role_code
),

final as (
    select
        company_slot_id,
        company_id,
        role_code,
        contact_id,
        created_at,
        updated_at
    from slots
)

select * from final
