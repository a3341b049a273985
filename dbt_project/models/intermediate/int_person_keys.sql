{#-
    The persistent person key map (schema keymap): every identity form ("li:", "email:",
    "name:<full name>|<employer>") ever seen -> contact_seq, the contact_id. Append-only,
    `full_refresh=false`, `on_schema_change='fail'`, as int_company_keys.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='fail',
        schema='keymap',
        pre_hook="{{ keymap_lock() }}",
        indexes=[{'columns': ['alias_key'], 'unique': True}],
    )
}}

{{ assign_alias_keys(ref('int_person_identity_aliases'), 'contact_seq') }}
