"""Sealing donor identity (ARCHITECTURE.md rule 10).

Two tools, both keyed by secrets that never enter the database, the instance
folder or backups:

- :func:`keyed_hash`: BLAKE2b keyed with the group's hash key, with a purpose
  as personalisation (donor, transaction id, dedup key...), so values can be
  matched (distinct donors, refund links, re-imports) without being readable,
  and hashes of one purpose cannot be compared with another's.
- Envelope encryption: each import batch gets a fresh random data key, sealed
  to the group's public key (X25519 sealed box). Rows are encrypted with that
  data key (XSalsa20-Poly1305 secret box: microseconds per row, where a sealed
  box per row costs ~90 µs). Only the treasurer's private key, kept on their
  own machine, opens the data key and so the rows.

May import: the standard library, PyNaCl, :mod:`tracker.errors`.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.secret import SecretBox
from nacl.utils import random as random_bytes

from tracker.errors import ConfigError, TrackerError

HASH_KEY_BYTES = 32
DIGEST_BYTES = 32


class SealError(TrackerError):
    """A sealed value could not be opened (wrong key or damaged data)."""


def _decode_key(text: str, what: str, size: int = 32) -> bytes:
    value = text.strip()
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise ConfigError(f"{what} must be {size * 2} hexadecimal characters") from None
    if len(raw) != size:
        raise ConfigError(f"{what} must be {size * 2} hexadecimal characters")
    return raw


def normalise_identity(value: str) -> str:
    """The form of an identity value that is hashed: NFKC, case-folded, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def keyed_hash(key: bytes, purpose: str, value: str) -> str:
    """A 64-hex-digit keyed hash of ``value`` for ``purpose`` (at most 16 bytes)."""
    if len(key) != HASH_KEY_BYTES:
        raise ConfigError("the hash key must be 32 bytes")
    person = purpose.encode("ascii")
    if len(person) > 16:
        raise ValueError("purpose is at most 16 ASCII characters")
    digest = hashlib.blake2b(
        value.encode("utf-8"), digest_size=DIGEST_BYTES, key=key, person=person
    )
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Keys:
    """The server's keys: the hash key and the group's public key (never the private key)."""

    hash_key: bytes
    public_key: PublicKey | None

    def hash(self, purpose: str, value: str) -> str:
        """Keyed hash of a normalised identity value."""
        return keyed_hash(self.hash_key, purpose, normalise_identity(value))

    def sealer(self) -> BatchSealer:
        """A sealer with a fresh data key for one batch."""
        if self.public_key is None:
            raise ConfigError(
                "no public key configured (PUBLIC_KEY or PUBLIC_KEY_FILE); run "
                "'tracker keys generate' and configure the public key"
            )
        return BatchSealer(self.public_key)


class BatchSealer:
    """Encrypts one batch's rows under a fresh data key sealed to the public key."""

    def __init__(self, public_key: PublicKey) -> None:
        """Draw a data key and seal it to ``public_key``."""
        data_key = random_bytes(SecretBox.KEY_SIZE)
        self._box = SecretBox(data_key)
        self.sealed_key: bytes = SealedBox(public_key).encrypt(data_key)

    def seal(self, data: bytes) -> bytes:
        """Nonce and ciphertext of ``data`` (authenticated)."""
        return bytes(self._box.encrypt(data))


class BatchOpener:
    """Opens a batch's rows with the treasurer's private key."""

    def __init__(self, private_key: PrivateKey, sealed_key: bytes) -> None:
        """Unseal the batch's data key, or raise :class:`SealError`."""
        try:
            data_key = SealedBox(private_key).decrypt(sealed_key)
        except Exception:  # noqa: BLE001 - PyNaCl raises CryptoError subclasses
            raise SealError("this private key does not open the batch") from None
        self._box = SecretBox(data_key)

    def open(self, blob: bytes) -> bytes:
        """The plaintext of a sealed row."""
        try:
            return bytes(self._box.decrypt(blob))
        except Exception:  # noqa: BLE001
            raise SealError("the sealed row is damaged") from None


def _read_key_source(value: str | None, path: str | None, what: str) -> str | None:
    if value:
        return value
    if path:
        try:
            return Path(path).read_text(encoding="ascii")
        except OSError as exc:
            raise ConfigError(f"cannot read the {what} file {path}: {exc.strerror}") from None
    return None


def _refuse_inside(path: str | None, folder: str, what: str) -> None:
    if not path:
        return
    inside = Path(path).resolve()
    if Path(folder).resolve() in (inside, *inside.parents):
        raise ConfigError(f"the {what} file must live outside the instance folder and its backups")


def load_keys(
    *,
    hash_key: str | None,
    hash_key_file: str | None,
    public_key: str | None,
    public_key_file: str | None,
    instance_path: str,
) -> Keys:
    """Read the keys from the configuration values; raise ConfigError if unusable."""
    _refuse_inside(hash_key_file, instance_path, "hash key")
    text = _read_key_source(hash_key, hash_key_file, "hash key")
    if not text:
        raise ConfigError(
            "no hash key configured: set HASH_KEY_FILE (or TRACKER_HASH_KEY) to the key "
            "'tracker keys generate' wrote; it must not live in the database or instance folder"
        )
    pub_text = _read_key_source(public_key, public_key_file, "public key")
    return Keys(
        hash_key=_decode_key(text, "the hash key"),
        public_key=PublicKey(_decode_key(pub_text, "the public key")) if pub_text else None,
    )


def load_private_key(path: str | os.PathLike[str]) -> PrivateKey:
    """The treasurer's private key from its file (on their own machine)."""
    try:
        text = Path(path).read_text(encoding="ascii")
    except OSError as exc:
        raise ConfigError(f"cannot read the private key file: {exc.strerror}") from None
    return PrivateKey(_decode_key(text, "the private key"))


@dataclass(frozen=True, slots=True)
class GeneratedKeys:
    """Where ``generate_keys`` wrote each key."""

    hash_key: Path
    public_key: Path
    private_key: Path


def generate_keys(directory: str | os.PathLike[str], *, overwrite: bool = False) -> GeneratedKeys:
    """Write a new hash key, public key and private key (mode 0600) into ``directory``."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths = GeneratedKeys(folder / "hash.key", folder / "group.pub", folder / "treasurer.key")
    existing = [p for p in (paths.hash_key, paths.public_key, paths.private_key) if p.exists()]
    if existing and not overwrite:
        raise ConfigError(f"{existing[0]} already exists; keys are never overwritten silently")
    private = PrivateKey.generate()
    contents = {
        paths.hash_key: random_bytes(HASH_KEY_BYTES).hex(),
        paths.public_key: bytes(private.public_key).hex(),
        paths.private_key: bytes(private).hex(),
    }
    for path, text in contents.items():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(text + "\n")
    return paths
