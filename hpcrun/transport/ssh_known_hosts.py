"""known_hosts, read line by line as OpenSSH reads it (``man sshd``, SSH_KNOWN_HOSTS FILE
FORMAT), for the paramiko transport.

paramiko's own ``HostKeys.load`` stops at the first line it does not understand (any
``@cert-authority`` or ``@revoked`` marker raises ``InvalidHostKey``), so a known_hosts
that OpenSSH reads happily would lock the user out. Here every line stands alone:

- plain lines (host patterns, hashed ``|1|salt|hash`` names, ``[host]:port``, wildcards
  and ``!negations``) give the keys a host may present;
- ``@revoked`` lines name keys that are refused whatever else the file says;
- ``@cert-authority`` lines are kept only to explain a refusal: paramiko cannot verify
  host certificates, so a host known only through a CA cannot be checked here;
- any other line OpenSSH would ignore is skipped, with a warning naming file:line.

paramiko is imported here lazily, only to decode keys.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import paramiko

MARKERS = ("@cert-authority", "@revoked")


@dataclass(frozen=True)
class Entry:
    line: int  # 1-based
    marker: str | None  # None, "@cert-authority" or "@revoked"
    patterns: str  # the host field as written
    key_type: str
    blob: bytes  # the public key, as in the file (base64-decoded)

    def matches(self, name: str) -> bool:
        return host_matches(self.patterns, name)


@dataclass
class KnownHosts:
    path: str
    entries: list[Entry] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "file:line: why", one per bad line

    def plain_keys(self, name: str) -> list[Entry]:
        """The keys ``name`` may present, revoked ones left out (OpenSSH refuses them)."""
        revoked = {e.blob for e in self.entries if e.marker == "@revoked"}
        return [
            e
            for e in self.entries
            if e.marker is None and e.blob not in revoked and e.matches(name)
        ]

    def revoked(self, blob: bytes) -> Entry | None:
        """The ``@revoked`` line for this key, if any (it applies whatever its hosts say:
        OpenSSH refuses a revoked key for every host)."""
        return next((e for e in self.entries if e.marker == "@revoked" and e.blob == blob), None)

    def authorities(self, name: str) -> list[Entry]:
        return [e for e in self.entries if e.marker == "@cert-authority" and e.matches(name)]


def host_name(host: str, port: int) -> str:
    """How known_hosts names a host: ``host`` on port 22, else ``[host]:port``."""
    return host if port == 22 else f"[{host}]:{port}"


def host_matches(patterns: str, name: str) -> bool:
    """OpenSSH's rule for the host field: a hashed name matches exactly; otherwise a
    comma-separated list of patterns (``*``, ``?``), case-insensitive, where a matching
    ``!pattern`` vetoes the line."""
    if patterns.startswith("|1|"):
        return _hashed_matches(patterns, name)
    matched = False
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        pattern = pattern[1:] if negated else pattern
        if fnmatch.fnmatchcase(name.lower(), pattern.lower().replace("[", "[[]")):
            if negated:
                return False
            matched = True
    return matched


def _hashed_matches(field_text: str, name: str) -> bool:
    try:
        _, _, salt, digest = field_text.split("|")
        key, expected = base64.b64decode(salt), base64.b64decode(digest)
    except (ValueError, binascii.Error):
        return False
    return hmac.compare_digest(hmac.new(key, name.encode(), hashlib.sha1).digest(), expected)


def parse(text: str, path: str) -> KnownHosts:
    """Every usable line of a known_hosts file; the rest in ``skipped`` (pure)."""
    found = KnownHosts(path)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        marker = None
        if fields[0].startswith("@"):
            if fields[0] not in MARKERS:
                found.skipped.append(f"{path}:{number}: unknown marker {fields[0]!r}")
                continue
            marker, fields = fields[0], fields[1:]
        if len(fields) < 3:
            found.skipped.append(f"{path}:{number}: expected 'hosts key-type key'")
            continue
        patterns, key_type, encoded = fields[:3]
        try:
            blob = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error):
            found.skipped.append(f"{path}:{number}: the key is not valid base64")
            continue
        found.entries.append(Entry(number, marker, patterns, key_type, blob))
    return found


def load(path: str) -> KnownHosts:
    """``parse`` of the file at ``path`` (an absent file knows no host)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except FileNotFoundError:
        return KnownHosts(path)
    return parse(text, path)


def paramiko_key(entry: Entry) -> paramiko.PKey | None:
    """The entry's key as paramiko's object; None for a type paramiko does not know."""
    import paramiko

    try:
        return paramiko.PKey.from_type_string(entry.key_type, entry.blob)
    except Exception:  # an unknown or malformed key type: OpenSSH may know it, we cannot
        return None
