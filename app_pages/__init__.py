"""Streamlit pages of the grader app (UI only; all logic lives in ``grader``)."""
