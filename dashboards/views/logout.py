"""Ends the session server-side, clears its cookie and returns to the login page."""

import streamlit as st

from dashboards import auth

auth.logout()
st.rerun()
