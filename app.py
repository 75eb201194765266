"""The office knowledge base in the browser: `streamlit run app.py`.

Pages: Start here (what the knowledge base holds, starter questions), Ask
(cited answers in a chat), Search (precedent: whole documents, filters,
similar documents), Check a draft (findings against the rules, each with its
article) and Library (documents, their structure, uploads).
The index is the one `kb` uses (KB_INDEX, kb.toml or ./index); the language
is the `language` setting (en, zh, or auto: the browser's). When the users file
names anyone, the app asks them to log in, and each sees only what they may
(kb.access); admins also get the Admin page (the activity log and the users).
"""

import streamlit as st

from app_pages.auth import login_page, person, sidebar
from app_pages.i18n import t

st.set_page_config(page_title=t("app.title"), page_icon=":material/menu_book:", layout="wide")

who = person()
if who is None:  # users are configured and nobody is logged in yet
    st.navigation([st.Page(login_page, title=t("login.title"), icon=":material/login:")]).run()
    st.stop()
sidebar(who)
PAGES = [
    st.Page("app_pages/start.py", title=t("nav.start"), icon=":material/explore:", default=True),
    st.Page("app_pages/ask.py", title=t("nav.ask"), icon=":material/forum:"),
    st.Page("app_pages/search.py", title=t("nav.search"), icon=":material/search:"),
    st.Page("app_pages/check.py", title=t("nav.check"), icon=":material/fact_check:"),
    st.Page("app_pages/library.py", title=t("nav.library"), icon=":material/folder_open:"),
]
if who.role == "admin":
    PAGES.append(st.Page("app_pages/admin.py", title=t("nav.admin"), icon=":material/admin_panel_settings:"))
st.navigation(PAGES).run()
