{#-
    Longest value (characters) each intake field may hold: the same table as
    loaders/intake/settings.py MAX_LENGTH (tests/test_bounded_input.py checks that they
    agree). The intake loader quarantines longer values; rows that reach raw_intake by any
    other path are defended here: staging builds no identity key from an over-long value,
    so no key map index row can outgrow PostgreSQL's btree limit (2704 bytes) and stop the
    build. The warn-level test assert_no_intake_value_over_its_limit lists such rows.
-#}
{% macro intake_max_lengths() -%}
    {{ return({
        'company_name': 300,
        'full_name': 300,
        'title': 500,
        'email': 254,
        'phone': 50,
        'website_url': 2000,
        'news_url': 2000,
        'company_website': 2000,
        'linkedin_url': 1000,
        'company_linkedin_url': 1000,
        'ein': 50,
        'address_line1': 300,
        'address_line2': 300,
        'city': 200,
        'state_region': 200,
        'postal_code': 50,
        'country': 100,
        'renewal_month': 20,
        'renewal_notice_window_days': 20,
        'deal_id': 200,
        'contact_id': 20,
        'contact_email': 254,
        'amount': 30,
        'currency': 3,
        'stage': 100,
        'closed_won': 10,
        'closed_at': 40,
    }) }}
{%- endmacro %}

{#- The raw column `field` when it fits the field's limit, else null. -#}
{% macro within_intake_limit(field) -%}
    case when {{ dbt.length(field) }} <= {{ intake_max_lengths()[field] }} then {{ field }} end
{%- endmacro %}
