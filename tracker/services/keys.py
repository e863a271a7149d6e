"""The server's sealing keys, read from the configuration once per app.

May import: Flask's ``current_app``, :mod:`tracker.sealing`.
"""

from __future__ import annotations

from flask import current_app

from tracker.sealing import Keys, load_keys


def server_keys() -> Keys:
    """The hash key and public key configured for this app (cached per app)."""
    cached = current_app.extensions.get("tracker_keys")
    if cached is None:
        cfg = current_app.config
        cached = load_keys(
            hash_key=cfg.get("HASH_KEY"),
            hash_key_file=cfg.get("HASH_KEY_FILE"),
            public_key=cfg.get("PUBLIC_KEY"),
            public_key_file=cfg.get("PUBLIC_KEY_FILE"),
            instance_path=current_app.instance_path,
        )
        current_app.extensions["tracker_keys"] = cached
    return cached
