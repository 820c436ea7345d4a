"""The root of the credentials package's errors: `CredentialError`."""

from __future__ import annotations

from server.errors import ServerError


class CredentialError(ServerError):
    """An upstream credential that cannot be used: unreadable, refused, not set up
    (OAuthError, CodeAssistSetupError), or none free right now (NoCredentialAvailable)."""
