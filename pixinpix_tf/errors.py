"""The package's exceptions: one base class, so every command catches one type.

Each message is one line a user can act on; the command line prints it and
exits with code 2 (1 for a training run that failed).
"""

from __future__ import annotations


class PixInPixError(Exception):
    """Base class of every error the package raises for bad input or a failed job."""


class ConfigError(PixInPixError, ValueError):
    """An invalid configuration value or option."""


class DataError(PixInPixError, RuntimeError):
    """A dataset that cannot be found, read or downloaded."""


class ImageError(PixInPixError, ValueError):
    """An image (array or file) that cannot be used, read or written."""


class ModelNotFoundError(PixInPixError, LookupError):
    """A model name or path that names no model; the message lists what was tried."""


class ModelError(PixInPixError, ValueError):
    """A model that exists but cannot be loaded or used for the job asked of it."""


class ExportError(PixInPixError, RuntimeError):
    """An export that cannot be made or failed its parity check."""


class TrainingFailed(PixInPixError, RuntimeError):
    """Training stopped because the networks collapsed or diverged."""


class NothingRevealed(ImageError):
    """A stego image from which a method can reveal nothing (no payload, another key, or damage
    beyond what the method survives)."""


class AuthenticationFailed(NothingRevealed):
    """A payload that decoded but whose authentication tag does not hold: the stego image was altered
    after hiding, or forged. Nothing else is tried: it was this method's, under this key."""
