"""Ends the session's login and returns to the login page."""

import streamlit as st

from dashboards import ui

ui.logout()
st.rerun()
