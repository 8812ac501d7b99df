"""Segmentation Studio's computing package.

Everything that computes lives here, so it can be tested and used from a notebook. Nothing in
``core`` imports Streamlit: the pages in ``app_pages/`` call into it.
"""
