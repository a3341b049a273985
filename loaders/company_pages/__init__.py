"""Company website/news page checks -> ``raw_ops.url_checks`` (issue 22).

Front door: ``loaders.company_pages.run.check_company_pages`` (the CLI's
``outreach load company-pages`` and the Dagster asset ``raw_ops/url_checks`` call it);
the HTTP checker is ``checker``; the local test sites are ``testing.company_sites``.
"""
