"""Random names for what a visitor is handed: served image files, showings, participants."""

from __future__ import annotations

import secrets


def new_token() -> str:
    """96 random bits as 24 hex digits. Hex rather than URL-safe base64: a token never starts with '-'
    (nor '=', '+', '@'), so an export's token cells need no formula quote and stay equal to file names."""
    return secrets.token_hex(12)
