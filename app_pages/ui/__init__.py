"""What the pages share; the only Streamlit code outside the page scripts.

* :mod:`~app_pages.ui.manifest` — the table of contents: sections and their pages, in the lecture's order;
* :mod:`~app_pages.ui.common` — the page's words (``T``), language, device and presentation mode, the
  address state (``choice``), figures shown at the projector's scale, the check against torch;
* :mod:`~app_pages.ui.widgets` — the editable grid, the step control, "check yourself", run controls;
* :mod:`~app_pages.ui.components` — browser components: click on an image, paint strokes;
* :mod:`~app_pages.ui.loaders` — every cached model and heavy computation (``st.cache_resource`` /
  ``st.cache_data``) in one place;
* :mod:`~app_pages.ui.images` — the one image picker (a sample or an upload) of every page that works on a picture;
* :mod:`~app_pages.ui.weights` — the one weights panel: where a pretrained model's weights come from, how to get them;
* :mod:`~app_pages.ui.photo` — the "Your images" pages' device, precision switch, timings and GPU fallback;
* :mod:`~app_pages.ui.sam` — the Segment Anything pages' model choice and prompt workbench;
* :mod:`~app_pages.ui.architecture` — the architecture pages' diagram and layer table.
"""
