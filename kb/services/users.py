"""The people who may use the knowledge base, from a YAML file; passwords hashed with Argon2.

``users.yaml``::

    users:
      chen:
        password: $argon2id$v=19$...     # `kb users add` writes the hash
        role: editor                     # reader, editor or admin
        clearance: confidential          # public ... top_secret, or 公开/内部/秘密/机密/绝密
        groups: [secretariat]

No file means a single-user install: no login, one local person who may do everything.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

from kb.access import LEVELS, ROLES, AccessDeniedError, Principal, parse_groups, parse_level
from kb.errors import KbError

_WRONG = "wrong user name or password"


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


class UserDirectory:
    """The users file at ``path``; read on each call, so an edit applies without a restart."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def configured(self) -> bool:
        """Whether any user is configured (then every request names its person)."""
        return bool(self._entries())

    def _entries(self) -> dict[str, dict]:
        if not self.path.is_file():
            return {}
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise KbError(f"cannot read the users file {self.path}: {exc}; fix it or restore it from a copy") from None
        users = data.get("users") if isinstance(data, dict) else None
        if users is None:
            return {}
        if not isinstance(users, dict) or not all(isinstance(v, dict) for v in users.values()):
            raise KbError(f"{self.path}: `users` must map each user name to its role, clearance and groups")
        return {str(name): entry for name, entry in users.items()}

    def names(self) -> list[str]:
        return sorted(self._entries())

    def principal(self, name: str) -> Principal:
        """The person ``name``, as the file describes them; KbError when there is no such user."""
        entry = self._entries().get(name)
        if entry is None:
            raise KbError(f"no user {name!r} in {self.path}: `kb users list` shows who is configured")
        return _principal(name, entry, self.path)

    def authenticate(self, name: str, password: str) -> Principal:
        """The person ``name`` if ``password`` is theirs; AccessDeniedError (one message for both cases) if not."""
        from argon2.exceptions import InvalidHashError, VerificationError

        entry = self._entries().get((name or "").strip())
        stored = str((entry or {}).get("password", ""))
        try:
            if entry is None or not stored:
                _hasher().hash(password or "")  # the same work whether or not the user exists
                raise AccessDeniedError(_WRONG)
            _hasher().verify(stored, password or "")
        except (VerificationError, InvalidHashError):
            raise AccessDeniedError(_WRONG) from None
        return _principal(name.strip(), entry, self.path)

    def add(self, name: str, password: str, role: str = "reader", clearance: str | int = "public",
            groups: tuple[str, ...] | str = ()) -> Principal:
        """Add ``name`` or replace their entry (a new password, role, clearance and groups)."""
        name = (name or "").strip()
        if not name or any(c.isspace() for c in name):
            raise KbError(f"user name {name!r} must be one word")
        if len(password or "") < 8:
            raise KbError("the password must have at least 8 characters")
        entry = {"password": _hasher().hash(password), "role": role, "clearance": LEVELS[parse_level(clearance)],
                 "groups": list(parse_groups(groups))}
        person = _principal(name, entry, self.path)
        entries = self._entries()
        entries[name] = entry
        self._save(entries)
        return person

    def remove(self, name: str) -> None:
        entries = self._entries()
        if name not in entries:
            raise KbError(f"no user {name!r} in {self.path}: `kb users list` shows who is configured")
        del entries[name]
        self._save(entries)

    def _save(self, entries: dict[str, dict]) -> None:
        """Write the file whole, then rename it over the old one; readable by its owner only."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".users-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                yaml.safe_dump({"users": entries}, out, allow_unicode=True, sort_keys=True)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _principal(name: str, entry: dict, path: Path) -> Principal:
    role = str(entry.get("role", "reader"))
    if role not in ROLES:
        raise KbError(f"{path}: user {name!r} has unknown role {role!r}: use one of {', '.join(ROLES)}")
    try:
        clearance = parse_level(entry.get("clearance", "public"))
    except KbError as exc:
        raise KbError(f"{path}: user {name!r}: {exc}") from None
    return Principal(name, role, clearance, parse_groups(entry.get("groups")))
