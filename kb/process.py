"""Whether a process that left files behind (a staged upload, a half-made conversion) still runs."""

from __future__ import annotations

import os


def pid_alive(text: str) -> bool:
    """Whether the process whose id ``text`` spells is alive; False for text that is no id."""
    try:
        os.kill(int(text), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # alive, under another user
        return True
    return True
