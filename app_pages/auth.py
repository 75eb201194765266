"""Who is using the app: the login form (users file) or an OIDC provider (Streamlit's st.login), and the
person each session acts as.

No users configured: a single-user install, no login, one local person who may do everything.
With OIDC configured (an ``[auth]`` section in .streamlit/secrets.toml), the provider says who the
person is, and the users file, keyed by their e-mail address, says what they may see and do.
"""

from __future__ import annotations

import streamlit as st

from kb.access import LEVELS, Principal
from kb.services.activity import ActivityLog
from kb.config import load_settings
from kb.errors import KbError
from kb.services.users import UserDirectory
from app_pages.i18n import error, t

_PERSON = "_person"


def _directory() -> UserDirectory:
    return UserDirectory(load_settings().users)


def _oidc() -> bool:
    """Whether st.login is configured (an [auth] section in the secrets)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _log(user: str, action: str, detail: str = "") -> None:
    try:
        ActivityLog(load_settings().activity_db).record(user, action, detail)
    except KbError as exc:
        st.warning(error(str(exc)))


def person() -> Principal | None:
    """The person this session acts as; None while nobody is logged in (then show login_page)."""
    try:
        directory = _directory()
        configured = directory.configured()
    except KbError as exc:
        st.error(error(str(exc)))
        st.stop()
    if not configured:
        return Principal.local()
    if _oidc():
        if not st.user.is_logged_in:
            return None
        name = str(st.user.get("email") or st.user.get("name") or "")
        try:
            return directory.principal(name)
        except KbError:
            st.error(t("login.not_configured", name=name))
            st.button(t("login.logout"), on_click=st.logout)
            st.stop()
    found = st.session_state.get(_PERSON)
    if found is None:
        return None
    try:
        return directory.principal(found.name)  # the file may have changed: a removed user is logged out
    except KbError:
        st.session_state.pop(_PERSON, None)
        return None


def login_page() -> None:
    """The login form (or the provider's button)."""
    st.title(t("app.title"))
    if _oidc():
        st.button(t("login.oidc"), type="primary", on_click=st.login)
        return
    with st.form("login"):
        name = st.text_input(t("login.name"), key="login-name")
        password = st.text_input(t("login.password"), type="password", key="login-password")
        submitted = st.form_submit_button(t("login.submit"), type="primary")
    if submitted:
        try:
            found = _directory().authenticate(name, password)
        except KbError:
            _log(name.strip() or "?", "login_failed")
            st.error(t("login.wrong"))
            return
        st.session_state[_PERSON] = found
        _log(found.name, "login")
        st.rerun()


def sidebar(who: Principal) -> None:
    """Who is logged in, and the way out; nothing on a single-user install."""
    if who.everything:
        return
    with st.sidebar:
        groups = f" · {', '.join(who.groups)}" if who.groups else ""
        st.caption(t("login.as", name=who.name, role=t(f"role.{who.role}"),
                     level=t(f"level.{LEVELS[who.clearance]}")) + groups)
        if st.button(t("login.logout"), key="logout"):
            _log(who.name, "logout")
            st.session_state.pop(_PERSON, None)
            if _oidc():
                st.logout()
            st.rerun()
