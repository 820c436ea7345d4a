"""Upstream credentials: what they are, how they stay valid, which one serves next.

Modules:
    credential          API keys and OAuth credentials, loaded from the configuration
    oauth               gemini-cli's token files and the refresh-token grant
    code_assist_setup   the Code Assist project of a credential (load or onboard)
    scheduler           the live board of every credential and the schedulers that lease them
    errors              CredentialError, the root of this package's errors
"""
