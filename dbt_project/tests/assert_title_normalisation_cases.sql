-- Titles that differ only in formatting share one comparison key (normalize_titles):
-- case, whitespace, punctuation, common abbreviations (VP, Sr, CEO, HR ...), "&" = "and",
-- filler words. Rows returned are cases whose key is not the expected one.
with

cases as (
    select
        title,
        expected_key
    from (
        values
        ('VP, Sales', 'vice president sales'),
        ('Vice-President of Sales', 'vice president sales'),
        ('V.P. Sales', 'vice president sales'),
        ('  vp   SALES ', 'vice president sales'),
        ('SVP Sales', 'senior vice president sales'),
        ('Sr. VP, Sales', 'senior vice president sales'),
        ('Sr. Software Engineer', 'senior software engineer'),
        ('Senior Software Engineer', 'senior software engineer'),
        ('Sales & Marketing Director', 'sales marketing director'),
        ('Sales and Marketing Director', 'sales marketing director'),
        ('CEO', 'chief executive officer'),
        ('Chief Executive Officer', 'chief executive officer'),
        ('Head of HR', 'head human resources'),
        ('Head of Human Resources', 'head human resources'),
        ('Co-Founder & CEO', 'co founder chief executive officer'),
        ('Cofounder and CEO', 'co founder chief executive officer'),
        ('Director, Int''l Sales', 'director intl sales'),
        ('Engineering Manager.', 'engineering manager'),
        ('engineering  manager', 'engineering manager'),
        ('Mgr, Ops', 'manager operations'),
        ('Sales VP', 'sales vice president'),
        ('Executive Assistant to the CEO', 'executive assistant to chief executive officer'),
        ('-', null)
    ) as c (title, expected_key)
),

normalized as (
    {{ normalize_titles('cases') }}
)

select
    cases.title,
    cases.expected_key,
    normalized.title_key
from cases
left join normalized on cases.title = normalized.title
where normalized.title_key is distinct from cases.expected_key
