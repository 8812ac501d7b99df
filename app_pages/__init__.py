"""Thin Streamlit page scripts; everything that computes is in ``core``."""
