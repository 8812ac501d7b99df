"""What the pages share; the only Streamlit code outside the page scripts.

* :mod:`~app_pages.ui.manifest` — the table of contents: sections and their pages, in the lecture's order;
* :mod:`~app_pages.ui.common` — the page's words (``T``), language, device and presentation mode, the
  address state (``choice``), figures shown at the projector's scale, the check against torch;
* :mod:`~app_pages.ui.widgets` — the editable grid, the step control, "check yourself", run controls;
* :mod:`~app_pages.ui.components` — browser components: click on an image, paint strokes;
* :mod:`~app_pages.ui.loaders` — every cached model and heavy computation (``st.cache_resource`` /
  ``st.cache_data``) in one place;
* :mod:`~app_pages.ui.photo` — the image picker and weights panel of the "Your images" pages;
* :mod:`~app_pages.ui.sam` — the Segment Anything pages' picker, model choice and prompts;
* :mod:`~app_pages.ui.architecture` — the architecture pages' diagram and layer table.
"""
