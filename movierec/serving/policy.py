"""Which version of a model answers requests that name none: the newest good one, or a
pinned one.

A pin comes from the serving process's own `--pin MODEL=VERSION` flag, or from the store's
policy file of the model (movierec.store.model_store.POLICY_FILE), which SetServingVersion writes
so that every serving process on the store follows it and it outlives restarts. The flag
wins over the file.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any

from movierec.errors import CorruptVersion, InvalidRequest
from movierec.store.model_store import MAX_VERSION, check_model_name

LATEST, PINNED = "LATEST", "PINNED"
FLAG, STORE = "flag", "store"
MAX_REASON_CHARS = 500


@dataclasses.dataclass(frozen=True)
class ServingPolicy:
    """A model's policy as one serving process applies it.

    Attributes:
        pinned_version: The version answering by default; 0 means the newest good one.
        source: "flag" (--pin), "store" (the policy file) or "" (none: newest).
        reason: Why it was set, as its setter said (e.g. "rollback from 5").
        updated_at: Seconds since the epoch when the store policy was written.
        error: Why the pin is not honoured right now (the version cannot be loaded); the
            newest good version answers meanwhile.
    """

    pinned_version: int = 0
    source: str = ""
    reason: str = ""
    updated_at: float = 0.0
    error: str = ""

    @property
    def mode(self) -> str:
        """PINNED or LATEST."""
        return PINNED if self.pinned_version else LATEST


def policy_of_record(record: dict[str, Any] | None) -> ServingPolicy:
    """The policy a store policy record holds (None: follow the newest).

    Raises:
        CorruptVersion: a record with a missing, malformed or out-of-range field (a
            version beyond 0..MAX_VERSION, a time that is no finite number).
    """
    if record is None:
        return ServingPolicy()
    version = record.get("pinned_version")
    updated = record.get("updated_at", 0.0)
    reason = record.get("reason", "")
    if (
        not isinstance(version, int)
        or isinstance(version, bool)
        or not isinstance(updated, int | float)
        or isinstance(updated, bool)
        or not isinstance(reason, str)
    ):
        raise CorruptVersion(f"malformed serving policy {_shown(record)}")
    if not 0 <= version <= MAX_VERSION:
        raise CorruptVersion(
            f"serving policy pins version {_shown(version)}, out of range 0..{MAX_VERSION}"
        )
    try:
        updated_at = float(updated)
    except OverflowError:
        updated_at = math.inf
    if not math.isfinite(updated_at):
        raise CorruptVersion(f"serving policy updated_at {_shown(updated)} is no finite time")
    return ServingPolicy(version, STORE if version else "", reason, updated_at)


def _shown(value: object, limit: int = 200) -> str:
    """A value read from a file as messages quote it: its repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def record_of(version: int, reason: str, now: float) -> dict[str, Any]:
    """The store record pinning `version` (0: follow the newest)."""
    return {"pinned_version": int(version), "reason": reason, "updated_at": now}


def check_reason(reason: str) -> None:
    """Raises InvalidRequest for a reason over MAX_REASON_CHARS characters."""
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidRequest(f"reason must be at most {MAX_REASON_CHARS} characters")


def parse_pins(texts: Iterable[str]) -> dict[str, int]:
    """Pins of `--pin MODEL=VERSION` flags.

    Raises:
        ValueError: a malformed flag, a bad model name, a version out of 1..MAX_VERSION,
            or a model twice.
    """
    pins: dict[str, int] = {}
    for text in texts:
        name, sep, number = text.rpartition("=")
        if not sep or not number.isascii() or not number.isdigit():
            number = "0"
        if not 1 <= int(number) <= MAX_VERSION:
            raise ValueError(
                f"--pin takes MODEL=VERSION with VERSION >= 1 and <= {MAX_VERSION}, got {text!r}"
            )
        try:
            check_model_name(name)
        except InvalidRequest as error:
            raise ValueError(f"--pin {text!r}: {error}") from None
        if name in pins:
            raise ValueError(f"--pin names model {name!r} twice")
        pins[name] = int(number)
    return pins
