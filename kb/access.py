"""Who may see and change what: security levels, roles and the person asking.

A document carries a level (public ... top secret) and, optionally, groups
(departments). A person sees it when their clearance is at least its level and,
if it has groups, they belong to one of them. Roles say what a person may do
beyond reading: an editor uploads and removes documents of their departments,
an admin does everything.

The level and groups come from the document's front matter or file properties
(``level``/``security``/``classification``/``密级``; ``groups``/``departments``/``部门``),
or from an editor in the Library (kept across re-ingests of the same file).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from kb.errors import KbError

LEVELS = ("public", "internal", "confidential", "secret", "top_secret")
LEVEL_NAMES = {
    **{name: n for n, name in enumerate(LEVELS)},
    "top secret": 4, "top-secret": 4, "restricted": 1,
    "公开": 0, "内部": 1, "秘密": 2, "机密": 3, "绝密": 4,
}
ROLES = ("reader", "editor", "admin")
LEVEL_KEYS = ("level", "security", "classification", "密级")
GROUP_KEYS = ("groups", "departments", "department", "部门")
ACCESS_SET_BY = "access_set_by"  # meta key: the level and groups were set in the Library, by this person


class AccessDeniedError(KbError):
    """The person asking may not do this."""


def parse_level(value: Any) -> int:
    """The level number of ``value`` (a name in English or Chinese, or 0-4); KbError naming the accepted ones."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(LEVELS):
        return value
    key = str(value).strip().lower().replace("_", " ") if value is not None else ""
    for name in (key, key.replace(" ", "_")):
        if name in LEVEL_NAMES:
            return LEVEL_NAMES[name]
    raise KbError(
        f"unknown security level {value!r}: use one of {', '.join(LEVELS)} (or 公开, 内部, 秘密, 机密, 绝密)"
    )


def parse_groups(value: Any) -> tuple[str, ...]:
    """Groups from a list, or a string split at commas (also Chinese ones); sorted, no repeats, no blanks."""
    if value is None or value == "":
        return ()
    items = value if isinstance(value, (list, tuple, set, frozenset)) else str(value).replace("，", ",").split(",")
    return tuple(sorted({str(g).strip() for g in items if str(g).strip()}))


def _first(meta: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in meta and meta[key] not in (None, ""):
            return meta[key]
    return None


def document_access(meta: Mapping[str, Any]) -> tuple[int, tuple[str, ...]]:
    """(level, groups) of a document from its metadata; no level given is public.

    Raises:
        KbError: The level is not one of LEVELS.
    """
    level = _first(meta, LEVEL_KEYS)
    return (0 if level is None else parse_level(level)), parse_groups(_first(meta, GROUP_KEYS))


@dataclass(frozen=True)
class Principal:
    """The person a request is made for.

    Attributes:
        name: Their user name ("local" for a single-user install).
        role: "reader", "editor" or "admin".
        clearance: The highest level they may read (an index into LEVELS).
        groups: Their departments or groups.
        everything: Sees every document whatever its level and groups (the
            single-user install only; an admin's reading follows their
            clearance and groups like anyone's).
    """

    name: str
    role: str = "reader"
    clearance: int = 0
    groups: tuple[str, ...] = ()
    everything: bool = False

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise KbError(f"unknown role {self.role!r} for {self.name!r}: use one of {', '.join(ROLES)}")
        if not 0 <= self.clearance < len(LEVELS):
            raise KbError(f"clearance {self.clearance!r} of {self.name!r} is not a level 0-{len(LEVELS) - 1}")

    @classmethod
    def local(cls) -> Principal:
        """The single-user install: no users configured, so one person who may do everything."""
        return cls("local", "admin", len(LEVELS) - 1, (), True)

    @property
    def key(self) -> tuple:
        """What decides which documents this person sees (people with the same key see the same)."""
        return ("*",) if self.everything else (self.clearance, self.groups)

    def may_see(self, level: int, groups: tuple[str, ...]) -> bool:
        """Whether a document of ``level`` and ``groups`` is visible to this person."""
        if self.everything:
            return True
        return level <= self.clearance and (not groups or bool(set(groups) & set(self.groups)))

    def may_change(self, level: int, groups: tuple[str, ...]) -> bool:
        """Whether this person may remove, replace or relabel such a document: an admin any they can see,
        an editor one they can see that belongs to one of their departments."""
        if not self.may_see(level, groups):
            return False
        return self.role == "admin" or (self.role == "editor" and bool(set(groups) & set(self.groups)))

    def require(self, role: str, what: str) -> None:
        """AccessDeniedError unless this person has ``role`` or a higher one."""
        if ROLES.index(self.role) < ROLES.index(role):
            raise AccessDeniedError(f"{self.name} is a {self.role} and may not {what}: it needs the {role} role")


def level_name(level: int) -> str:
    return LEVELS[level]
