"""The office knowledge base in the browser: `streamlit run app.py`.

Pages: Start here (what the knowledge base holds, starter questions), Ask
(cited answers in a chat), Search (precedent: whole documents, facets,
similar documents), Check a draft (findings against the rules, each with its
article) and Library (documents, their structure, uploads).
The index is the one `kb` uses (KB_INDEX, kb.toml or ./index).
"""

import streamlit as st

st.set_page_config(page_title="Office knowledge base", page_icon=":material/menu_book:", layout="wide")

PAGES = [
    st.Page("app_pages/start.py", title="Start here", icon=":material/explore:", default=True),
    st.Page("app_pages/ask.py", title="Ask", icon=":material/forum:"),
    st.Page("app_pages/search.py", title="Search precedent", icon=":material/search:"),
    st.Page("app_pages/check.py", title="Check a draft", icon=":material/fact_check:"),
    st.Page("app_pages/library.py", title="Library", icon=":material/folder_open:"),
]
st.navigation(PAGES).run()
