"""Admin: the activity log (who asked, viewed, downloaded or changed what), filtered and exported; the users."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from kb.access import LEVELS, ROLES
from kb.services.activity import ACTIONS, ActivityLog, to_csv
from kb.errors import KbError
from kb.services.users import UserDirectory
from app_pages.common import escape, knowledge_base
from app_pages.i18n import error, t

kb = knowledge_base()
if kb.viewer.role != "admin":
    st.error(t("admin.only"))
    st.stop()
log = ActivityLog(kb.settings.activity_db)
st.title(t("admin.title"))

activity, people = st.tabs([t("admin.activity"), t("admin.users")])
with activity:
    left, middle, right = st.columns(3)
    user = left.selectbox(t("admin.user"), [""] + log.users(), format_func=lambda u: u or t("admin.everyone"),
                          key="admin-user")
    actions = middle.multiselect(t("admin.actions"), ACTIONS, key="admin-actions", placeholder=t("filter.choose"))
    text = right.text_input(t("admin.text"), key="admin-text")
    since = left.date_input(t("filter.from"), dt.date.today() - dt.timedelta(days=30), key="admin-since")
    until = middle.date_input(t("filter.to"), dt.date.today(), key="admin-until")
    events = log.events(user or None, tuple(actions), since.isoformat(), until.isoformat(), text)
    st.caption(t("admin.count", n=len(events)))
    st.dataframe(pd.DataFrame([{"time": e.time.replace("T", " ")[:19], "user": e.user, "action": e.action,
                                "detail": e.detail, "documents": "; ".join(e.docs)} for e in events],
                              columns=["time", "user", "action", "detail", "documents"]),
                 hide_index=True, width="stretch", key="admin-events",
                 column_config={c: st.column_config.TextColumn(t(f"admin.col.{c}"))
                                for c in ("time", "user", "action", "detail", "documents")})
    st.download_button(t("admin.csv"), to_csv(events), file_name=f"activity-{since}-{until}.csv",
                       mime="text/csv", key="admin-csv")

with people:
    directory = UserDirectory(kb.settings.users)
    rows = []
    for name in directory.names():
        p = directory.principal(name)
        rows.append({"user": name, "role": t(f"role.{p.role}"), "clearance": t(f"level.{LEVELS[p.clearance]}"),
                     "groups": ", ".join(p.groups)})
    st.dataframe(pd.DataFrame(rows, columns=["user", "role", "clearance", "groups"]), hide_index=True,
                 width="stretch", key="admin-users",
                 column_config={c: st.column_config.TextColumn(t(f"admin.col.{c}"))
                                for c in ("user", "role", "clearance", "groups")})
    with st.form("add-user", clear_on_submit=True):
        st.markdown(f"**{t('admin.add_user')}**")
        name = st.text_input(t("login.name"))
        password = st.text_input(t("login.password"), type="password")
        role = st.selectbox(t("admin.role"), ROLES, format_func=lambda r: t(f"role.{r}"))
        clearance = st.selectbox(t("admin.clearance"), LEVELS, format_func=lambda v: t(f"level.{v}"))
        groups = st.text_input(t("library.groups_typed"))
        if st.form_submit_button(t("admin.save_user")):
            try:
                directory.add(name, password, role, clearance, groups)
                log.record(kb.viewer.name, "users", f"add {name}: {role}, {clearance}, {groups}")
                st.success(t("admin.saved", name=escape(name)))
            except KbError as exc:
                st.error(escape(error(str(exc))))
    others = [n for n in directory.names() if n != kb.viewer.name]
    if others:
        gone = st.selectbox(t("admin.remove_user"), others, index=None, key="admin-remove",
                            placeholder=t("filter.choose"))
        if gone and st.button(t("admin.remove_button", name=gone), key="admin-remove-button"):
            directory.remove(gone)
            log.record(kb.viewer.name, "users", f"remove {gone}")
            st.rerun()
