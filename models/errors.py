"""Errors raised by the model layer.

Every error carries a one-line message meant for a person: what was wrong and what is allowed.
The CLI prints it without a traceback; the HTTP layer maps it to a status code.
"""

from __future__ import annotations


class LatentExplorerError(Exception):
    """Base class for every error the explorer raises on purpose."""


class DatasetError(LatentExplorerError):
    """A dataset name, folder or file that cannot be used."""


class CheckpointError(LatentExplorerError):
    """A checkpoint folder that is missing, truncated, mismatched or tampered with."""


class ConfigError(LatentExplorerError):
    """An impossible setting: unknown architecture, latent size 0, image size 1000 px..."""


class ModelCodeError(LatentExplorerError):
    """An imported model (the user's own class or ONNX file) that cannot be imported, raised,
    or returned something of the wrong shape; the message names the step and the file:line."""
