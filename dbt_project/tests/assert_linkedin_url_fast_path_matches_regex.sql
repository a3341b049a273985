-- normalize_linkedin_url cuts common URL shapes with string functions and sends the rest
-- through the regular expression that defines the rule: both must agree on every URL.
-- Rows returned are disagreements. The cases cross schemes, hosts, kinds, slugs and tails.
with

schemes as (
    select scheme
    from (values ('https://'), ('http://'), (''), ('HTTPS://'), (' https://'), ('ftp://')) as s (scheme)
),

hosts as (
    select host
    from (
        values
        ('www.linkedin.com'), ('linkedin.com'), ('uk.linkedin.com'), ('WWW.LinkedIn.com'),
        ('linkedin.com:443'), ('notlinkedin.com'), ('www.linkedin.co'), ('de.www.linkedin.com')
    ) as h (host)
),

kinds as (
    select kind
    from (values ('/in/'), ('/company/'), ('/school/'), ('/showcase/'), ('/pub/'), ('/IN/'), ('//in/'), ('/in'))
        as k (kind)
),

slugs as (
    select slug
    from (
        values
        ('jane-doe'), ('Ab-9_x'), ('j%C3%BCrgen'), ('é'), (''), ('a b'), ('x/y'), ('a.b'), ('a?b'),
        ('a#b'), ('tab' || chr(9) || 'x'), ('nb' || chr(160) || 'x'), ('123')
    ) as s (slug)
),

tails as (
    select tail
    from (values (''), ('/'), ('/?trk=1'), ('#top'), ('/details/experience/'), ('?'), (' '), ('//'))
        as t (tail)
),

cases as (
    select schemes.scheme || hosts.host || kinds.kind || slugs.slug || tails.tail as url
    from schemes
    cross join hosts
    cross join kinds
    cross join slugs
    cross join tails
),

compared as (
    select
        url,
        {{ normalize_linkedin_url('url') }} as fast,
        {{ linkedin_url_by_regex('url') }} as by_regex
    from cases
)

select
    url,
    fast,
    by_regex
from compared
where fast is distinct from by_regex
