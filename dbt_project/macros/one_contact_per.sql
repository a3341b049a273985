{#-
    One contact per value of `key` in `relation` (the lowest contact_id when several share
    it), so a join on that key can never fan out over two contacts. Renders the body of a
    CTE: `contact_emails as ({{ one_contact_per(ref('contact'), 'email') }})`.
-#}
{% macro one_contact_per(relation, key) -%}
    select
        {{ key }},
        min(contact_id) as contact_id
    from {{ relation }}
    where {{ key }} is not null
    group by {{ key }}
{%- endmacro %}
