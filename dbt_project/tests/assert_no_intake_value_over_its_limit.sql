{{ config(severity='warn') }}
-- Raw intake rows holding a value longer than its field's limit (macro intake_max_lengths).
-- The intake loader quarantines such rows, so any found here came by another path; staging
-- builds no identity key from the over-long value (the build goes on), and this warning
-- names the rows so they can be fixed at the source. Rows returned: (table, row, field).
{%- set limits = intake_max_lengths() %}
{%- set tables = {
    'companies': ['company_name', 'website_url', 'linkedin_url', 'news_url', 'ein', 'address_line1',
        'address_line2', 'city', 'state_region', 'postal_code', 'country'],
    'people': ['full_name', 'title', 'email', 'phone', 'linkedin_url', 'company_name', 'company_website',
        'company_linkedin_url'],
} %}
{%- for table, fields in tables.items() %}
    {%- for field in fields %}
        select
            '{{ table }}' as raw_table,
            _row_key as row_key,
            '{{ field }}' as field_name,
            {{ dbt.length(field) }} as value_length
        from {{ source('intake', table) }}
        where {{ dbt.length(field) }} > {{ limits[field] }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
    {%- if not loop.last %}
        union all
    {%- endif %}
{%- endfor %}
