"""Who may call what: bearer tokens for the client API, an internal credential for the
internal services (stage inference and admin, the arbiter).

A `Gate` decides per call; the server interceptor asks it before any servicer runs, so
authentication is enforced in one place for every process (and for the HTTP gateway, which
forwards its Authorization header as `authorization` metadata). Health and reflection are
always open. Tokens are compared with `hmac.compare_digest` against every entry, so the
time taken does not depend on how much of a token was right.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from meshpipe.errors import ConfigurationError, PermissionDenied, Unauthenticated

OPEN_SERVICES = frozenset(
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    }
)
ANONYMOUS = "anonymous"
INTERNAL = "internal"
_BEARER = "bearer "


def service_of(method: str) -> str:
    """`/pkg.Service/Method` -> `pkg.Service`."""
    return method.lstrip("/").split("/", 1)[0]


def bearer_token(metadata: Mapping[str, str]) -> str | None:
    """The token of an `authorization: Bearer <token>` header, or None."""
    value = metadata.get("authorization", "")
    if value[: len(_BEARER)].lower() != _BEARER:
        return None
    return value[len(_BEARER) :].strip() or None


@dataclass(frozen=True)
class TokenTable:
    """token -> principal. Built from lines (or comma-separated items) `principal:token`."""

    entries: tuple[tuple[bytes, str], ...]

    @classmethod
    def parse(cls, text: str) -> TokenTable:
        entries = []
        for raw in text.replace(",", "\n").splitlines():
            item = raw.strip()
            if not item or item.startswith("#"):
                continue
            principal, sep, token = item.partition(":")
            if not sep or not principal.strip() or len(token.strip()) < 16:
                raise ConfigurationError(
                    "token entries are `principal:token`, tokens ≥ 16 characters"
                )
            entries.append((token.strip().encode(), principal.strip()))
        return cls(tuple(entries))

    @classmethod
    def load(cls, inline: str = "", file: str = "") -> TokenTable | None:
        """The table of `inline` entries plus those of `file`; None when both are empty."""
        text = inline + "\n" + (Path(file).read_text() if file else "")
        table = cls.parse(text)
        return table if table.entries else None

    def principal(self, token: str) -> str | None:
        """The principal of `token` (compared in constant time with every entry), or None."""
        given = token.encode()
        found: str | None = None
        for known, who in self.entries:
            if hmac.compare_digest(known, given) and found is None:
                found = who
        return found


class Gate(Protocol):
    """Decides whether a call may proceed; returns the caller's principal or raises."""

    def authorize(self, method: str, metadata: Mapping[str, str]) -> str: ...


@dataclass(frozen=True)
class ClientGate:
    """The client API: a bearer token from `tokens`, or anyone when there are no tokens
    (the server then binds loopback only, unless told `--insecure`)."""

    tokens: TokenTable | None

    def authorize(self, method: str, metadata: Mapping[str, str]) -> str:
        if service_of(method) in OPEN_SERVICES:
            return ANONYMOUS
        if self.tokens is None:
            return ANONYMOUS
        token = bearer_token(metadata)
        if token is None:
            raise Unauthenticated("missing `authorization: Bearer <token>` metadata")
        principal = self.tokens.principal(token)
        if principal is None:
            raise Unauthenticated("unknown bearer token")
        return principal


@dataclass(frozen=True)
class InternalGate:
    """Internal services: the internal token when one is set. With mutual TLS the handshake
    has already refused callers without a certificate of the internal CA."""

    token: str | None

    def authorize(self, method: str, metadata: Mapping[str, str]) -> str:
        if service_of(method) in OPEN_SERVICES or self.token is None:
            return INTERNAL
        given = bearer_token(metadata)
        if given is None:
            raise Unauthenticated("internal service: missing internal credentials")
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            raise PermissionDenied("internal service: not an internal credential")
        return INTERNAL
