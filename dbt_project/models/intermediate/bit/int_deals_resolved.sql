{#-
    One row per deal (deal_id): the latest intake row of it (by load time, then row number:
    a CRM export loaded again with a new stage or amount restates the deal, never adds one),
    with its contact resolved: the contact_id given when people.contact has it, else the
    contact whose email is the deal's contact_email. Deals matching no contact are kept
    (contact_id null) and left out of marketing.contact_ltv.
-#}

with

deals as (
    select
        *,
        row_number() over (
            partition by deal_id
            order by loaded_at desc, source_row_number desc, row_key desc
        ) as recency
    from {{ ref('stg_intake__deals') }}
    where deal_id is not null
),

contacts as (
    select contact_id
    from {{ ref('contact') }}
),

-- one contact per address, so a deal can never fan out over two contacts
contact_emails as (
    {{ one_contact_per(ref('contact'), 'email') }}
),

final as (
    select
        deals.deal_id,
        deals.contact_id_given,
        deals.contact_email,
        deals.company_name,
        deals.amount,
        deals.currency,
        deals.stage,
        deals.is_won,
        deals.closed_at,
        deals.row_key,
        deals.loaded_at,
        coalesce(contacts.contact_id, contact_emails.contact_id) as contact_id
    from deals
    left join contacts on deals.contact_id_given = contacts.contact_id
    left join contact_emails on deals.contact_email = contact_emails.email
    where deals.recency = 1
)

select * from final
