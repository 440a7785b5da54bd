"""Security settings shared by every process, and what they turn into: server credentials,
the gate of a server, internal channels that present TLS and the internal token, and the
loopback-only rule for servers without authentication."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
from pydantic import BaseModel, Field

from meshpipe.errors import ConfigurationError
from meshpipe.runtime import callctx
from meshpipe.runtime.tls import channel_credentials, server_credentials

log = logging.getLogger(__name__)


class InsecureBind(ConfigurationError):
    """A server without authentication was asked to bind a non-loopback address."""


class SecuritySettings(BaseModel):
    """TLS and internal-credential settings (mixed into every process's settings)."""

    tls_cert_file: str = Field("", description="PEM certificate of this server (enables TLS).")
    tls_key_file: str = Field("", description="PEM private key of tls_cert_file.")
    tls_ca_file: str = Field(
        "",
        description="PEM CA that signs the internal services' certificates: trusted when "
        "this process calls them, and for client certificates with tls_client_auth.",
    )
    tls_client_auth: bool = Field(
        False, description="Internal servers require a client certificate of tls_ca_file (mTLS)."
    )
    internal_token: str = Field(
        "", description="Shared secret of the internal links (`authorization: Bearer …`)."
    )
    internal_token_file: str = Field("", description="File holding internal_token.")
    insecure: bool = Field(
        False, description="Allow binding a non-loopback address without authentication."
    )

    def internal_secret(self) -> str | None:
        """The internal token (from the setting or its file), or None."""
        if self.internal_token:
            return self.internal_token
        if self.internal_token_file:
            return Path(self.internal_token_file).expanduser().read_text().strip() or None
        return None

    def server_tls(self, client_auth: bool) -> grpc.ServerCredentials | None:
        """Credentials of a server of this process; None without a certificate."""
        if not self.tls_cert_file:
            return None
        return server_credentials(
            self.tls_cert_file, self.tls_key_file, self.tls_ca_file, client_auth
        )

    def internal_authenticated(self) -> bool:
        """True when the internal servers of this process check who calls them."""
        return bool(self.internal_secret()) or (bool(self.tls_cert_file) and self.tls_client_auth)

    def internal_channel(
        self, address: str, options: Sequence[tuple[str, Any]] = ()
    ) -> grpc.aio.Channel:
        """A channel to an internal service: TLS when tls_ca_file is set (presenting this
        process's certificate for mTLS), the internal token and request id as metadata."""
        interceptors = [MetadataInterceptor(self.internal_secret())]
        if self.tls_ca_file:
            creds = channel_credentials(self.tls_ca_file, self.tls_cert_file, self.tls_key_file)
            return grpc.aio.secure_channel(address, creds, options, interceptors=interceptors)
        return grpc.aio.insecure_channel(address, options, interceptors=interceptors)


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(what: str, host: str, authenticated: bool, insecure: bool) -> None:
    """Refuse to serve `what` without authentication on a non-loopback host (unless
    `insecure`); say in the log what the server accepts."""
    if authenticated:
        return
    if is_loopback(host):
        log.warning("%s: no credentials configured; serving on loopback %s only", what, host)
        return
    if not insecure:
        raise InsecureBind(
            f"{what}: refusing to bind {host} without authentication; configure tokens / an "
            "internal token / mutual TLS, bind 127.0.0.1, or pass --insecure"
        )
    log.warning("%s: serving WITHOUT authentication on %s (--insecure)", what, host)


class MetadataInterceptor(
    grpc.aio.UnaryUnaryClientInterceptor,
    grpc.aio.UnaryStreamClientInterceptor,
    grpc.aio.StreamStreamClientInterceptor,
):
    """Adds `authorization: Bearer <token>` (when a token is set) and the current request
    id to every call of a channel."""

    def __init__(self, token: str | None) -> None:
        self._extra = (("authorization", f"Bearer {token}"),) if token else ()

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        for key, value in (*self._extra, *callctx.outgoing_metadata()):
            if key not in metadata:
                metadata.add(key, value)
        return grpc.aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
        )

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)

    async def intercept_stream_stream(
        self, continuation: Any, details: Any, request_iterator: Any
    ) -> Any:
        return await continuation(self._details(details), request_iterator)
