"""The office knowledge base in the browser: `streamlit run app.py`.

Pages: Start here (what the knowledge base holds, starter questions), Ask
(cited answers in a chat), Search (precedent: whole documents, filters,
similar documents), Check a draft (findings against the rules, each with its
article) and Library (documents, their structure, uploads).
The index is the one `kb` uses (KB_INDEX, kb.toml or ./index); the language
is the `language` setting (en, zh, or auto: the browser's).
"""

import streamlit as st

from app_pages.i18n import t

st.set_page_config(page_title=t("app.title"), page_icon=":material/menu_book:", layout="wide")

PAGES = [
    st.Page("app_pages/start.py", title=t("nav.start"), icon=":material/explore:", default=True),
    st.Page("app_pages/ask.py", title=t("nav.ask"), icon=":material/forum:"),
    st.Page("app_pages/search.py", title=t("nav.search"), icon=":material/search:"),
    st.Page("app_pages/check.py", title=t("nav.check"), icon=":material/fact_check:"),
    st.Page("app_pages/library.py", title=t("nav.library"), icon=":material/folder_open:"),
]
st.navigation(PAGES).run()
