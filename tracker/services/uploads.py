"""Uploaded files, sealed from their first byte (ARCHITECTURE.md rule 10).

A browser upload is received into a :class:`SealingSpool`: Werkzeug writes the
body's file part into it, and it keeps only ciphertext (1 MiB chunks, each an
XSalsa20-Poly1305 secret box) in an anonymous temporary file. The chunk key is
derived from the server's hash key and a random salt, so neither the spool on
disk nor the ``upload_chunks`` rows it is copied into can be read without the
key file, which lives outside the database, the instance folder and backups.

:class:`SealedUpload` reads a stored upload back as a seekable binary stream,
decrypting one chunk at a time, so the importers read it as they read a file
and nothing of it is ever written to disk in clear.

May import: the standard library, PyNaCl, SQLAlchemy, models, :mod:`tracker.sealing`.
"""

from __future__ import annotations

import hashlib
import io
import re
import tempfile
import unicodedata
import weakref
from collections.abc import Iterator
from typing import IO, Any

import sqlalchemy as sa
from nacl.exceptions import CryptoError
from nacl.secret import SecretBox
from nacl.utils import random as random_bytes
from sqlalchemy.orm import Session

from tracker.errors import NotFound
from tracker.models import Upload, UploadChunk
from tracker.sealing import SealError

CHUNK = 1 << 20
_LENGTH = 4
#: Leading bytes of archives and compressed files, which are refused (RELIABILITY.md P9).
COMPRESSED_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"7z\xbc\xaf\x27\x1c", b"Rar!", b"\x28\xb5\x2f\xfd")


def upload_box(hash_key: bytes, salt: bytes) -> SecretBox:
    """The secret box for an upload's chunks: its key is BLAKE2b(salt) keyed with the hash key."""
    key = hashlib.blake2b(salt, key=hash_key, person=b"upload-key", digest_size=SecretBox.KEY_SIZE).digest()
    return SecretBox(key)


def safe_filename(name: str | None) -> str:
    """The base name of an uploaded file reduced to safe characters, for display only.

    Path parts (``../``, ``C:\\``), control characters and anything but letters,
    digits, dot, dash, underscore and space are dropped; never empty.
    """
    text = unicodedata.normalize("NFKC", name or "")
    text = re.split(r"[\\/]", text)[-1]
    text = "".join(ch for ch in text if ch.isalnum() or ch in "._- ").strip(" .")
    return text[:120] or "upload"


class SealingSpool(io.RawIOBase):
    """A write-then-read stream that keeps only ciphertext (see the module docstring)."""

    def __init__(self, hash_key: bytes) -> None:
        super().__init__()
        self.salt = random_bytes(32)
        self._box = upload_box(hash_key, self.salt)
        self._store: IO[bytes] = tempfile.TemporaryFile(prefix="tracker-upload-")  # noqa: SIM115 - closed in close()
        # A spool dropped without close() (a body refused half-way) still closes its file.
        weakref.finalize(self, self._store.close)
        self._pending = bytearray()
        self._digest = hashlib.sha256()
        self.size = 0
        self.chunks = 0
        self.head = b""
        self._sealed = False
        self._reader: Iterator[bytes] | None = None
        self._buffer = b""

    def writable(self) -> bool:
        return not self._sealed

    def readable(self) -> bool:
        return self._sealed

    def seekable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self._sealed:
            raise io.UnsupportedOperation("the spool is sealed")
        block = bytes(data)
        self._digest.update(block)
        if len(self.head) < 16:
            self.head += block[: 16 - len(self.head)]
        self.size += len(block)
        self._pending += block
        while len(self._pending) >= CHUNK:
            self._emit(bytes(self._pending[:CHUNK]))
            del self._pending[:CHUNK]
        return len(block)

    def _emit(self, plain: bytes) -> None:
        sealed = bytes(self._box.encrypt(plain))
        self._store.write(len(sealed).to_bytes(_LENGTH, "big"))
        self._store.write(sealed)
        self.chunks += 1

    def seal(self) -> None:
        """Encrypt what is left; from now on the spool reads (decrypting) and stores."""
        if not self._sealed:
            if self._pending or self.chunks == 0:
                self._emit(bytes(self._pending))
                self._pending.clear()
            self._sealed = True

    @property
    def sha256(self) -> str:
        """The hex SHA-256 of everything written."""
        return self._digest.hexdigest()

    def sealed_chunks(self) -> Iterator[bytes]:
        """The ciphertext chunks, in order."""
        self.seal()
        return _read_sealed(self._store)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Werkzeug seeks to 0 after writing: that seals; reading restarts at 0 only."""
        if offset != 0 or whence != io.SEEK_SET:
            raise io.UnsupportedOperation("a sealing spool seeks to its start only")
        self.seal()
        box = self._box  # the generator must not hold the spool: no cycle, so it closes when dropped
        self._reader = (bytes(box.decrypt(c)) for c in _read_sealed(self._store))
        self._buffer = b""
        return 0

    def readinto(self, target: Any) -> int:
        if self._reader is None:
            self.seek(0)
        assert self._reader is not None
        while not self._buffer:
            try:
                self._buffer = next(self._reader)
            except StopIteration:
                return 0
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._store.close()
        super().close()


def _read_sealed(store: IO[bytes]) -> Iterator[bytes]:
    store.seek(0)
    while header := store.read(_LENGTH):
        yield store.read(int.from_bytes(header, "big"))


def store(session: Session, spool: SealingSpool, *, filename: str, user_id: int | None) -> Upload:
    """Copy a spool's ciphertext into the database as an :class:`Upload` (no commit)."""
    spool.seal()
    upload = Upload(
        filename=safe_filename(filename), size=spool.size, sha256=spool.sha256,
        key_salt=spool.salt, chunks=spool.chunks, created_by=user_id,
    )
    session.add(upload)
    session.flush()
    for seq, data in enumerate(spool.sealed_chunks()):
        session.execute(sa.insert(UploadChunk), [{"upload_id": upload.id, "seq": seq, "data": data}])
    return upload


def discard(session: Session, upload_id: int) -> None:
    """Delete an upload's content; its row stays as the record of what was uploaded (no commit)."""
    from tracker.dbtypes import utcnow

    session.execute(sa.delete(UploadChunk).where(UploadChunk.upload_id == upload_id))
    session.execute(sa.update(Upload).where(Upload.id == upload_id).values(chunks=0, discarded_at=utcnow()))


class SealedUpload:
    """A stored upload, opened like a file: ``open("rb")`` gives a seekable stream.

    Chunks are read through short connections of their own, outside the
    caller's session, so reading never holds a transaction an import needs.
    """

    def __init__(self, engine: sa.Engine, upload_id: int, hash_key: bytes) -> None:
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(Upload.filename, Upload.size, Upload.key_salt)
                .where(Upload.id == upload_id, Upload.discarded_at.is_(None))
            ).first()
        if row is None:
            raise NotFound(f"upload {upload_id} is gone (imported or cancelled)")
        self.engine = engine
        self.upload_id = upload_id
        self.filename, self.size = row.filename, row.size
        self._box = upload_box(hash_key, bytes(row.key_salt))

    @property
    def name(self) -> str:
        """The file's display name."""
        return self.filename

    def chunk(self, seq: int) -> bytes:
        """The plaintext of chunk ``seq``."""
        with self.engine.connect() as conn:
            data = conn.scalar(
                sa.select(UploadChunk.data).where(UploadChunk.upload_id == self.upload_id, UploadChunk.seq == seq)
            )
        if data is None:
            raise SealError(f"upload {self.upload_id} is missing chunk {seq}")
        try:
            return bytes(self._box.decrypt(bytes(data)))
        except CryptoError:
            raise SealError(f"upload {self.upload_id} chunk {seq} does not open with this server's key") from None

    def open(self, mode: str = "rb") -> IO[bytes]:
        """A buffered, seekable binary reader over the decrypted upload."""
        if mode != "rb":
            raise ValueError("uploads open read-only, in binary")
        return io.BufferedReader(_UploadReader(self), buffer_size=CHUNK)


class _UploadReader(io.RawIOBase):
    """Random access over an upload's chunks, one decrypted chunk kept in memory."""

    def __init__(self, upload: SealedUpload) -> None:
        super().__init__()
        self.upload = upload
        self.pos = 0
        self._seq = -1
        self._plain = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.upload.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, target: Any) -> int:
        if self.pos >= self.upload.size:
            return 0
        seq, offset = divmod(self.pos, CHUNK)
        if seq != self._seq:
            self._plain, self._seq = self.upload.chunk(seq), seq
        piece = self._plain[offset : offset + len(target)]
        target[: len(piece)] = piece
        self.pos += len(piece)
        return len(piece)
