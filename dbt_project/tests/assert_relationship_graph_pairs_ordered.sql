-- Each unordered pair once per type: contact_a_id is always the lower id, never the same.
select
    contact_a_id,
    contact_b_id,
    relationship_type
from {{ ref('relationship_graph') }}
where not contact_a_id < contact_b_id
