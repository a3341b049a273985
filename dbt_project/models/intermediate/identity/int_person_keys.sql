{#-
    The persistent person key map (schema keymap): every identity form ("li:", "email:",
    "name:<full name>|<employer>") ever seen -> contact_seq, the contact_id. Append-only,
    `full_refresh=false`, `on_schema_change='fail'`, as int_company_keys.
-#}
{{ keymap_config('alias_key') }}

{{ assign_alias_keys(ref('int_person_identity_aliases'), 'contact_seq') }}
