"""The page scripts, one per page: ``app_pages/<slug>.py`` is served at ``/<slug>`` and its words are
``lessons/<lang>/<slug>.md`` and ``.toml``. A page is a short flat script (title, lesson text, widgets,
calls into ``core``, figures); what pages share lives in :mod:`app_pages.ui`."""
