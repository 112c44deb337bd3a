"""Field encryption at rest: the master key ring, per-provider data keys, sealed fields, blind indexes.

Key hierarchy
    master key (32 bytes; HOLAOLAS_MASTER_KEY or <data dir>/master.key, never in the database)
      └─ wraps each provider's random 32-byte data key (AES-256-GCM, bound to the provider id)
           ├─ seals every personal field (AES-256-GCM, 96-bit random nonce), with associated
           │  data binding it to provider, table, column and row: a ciphertext copied to another
           │  row, column or provider does not decrypt
           └─ derives, with HKDF-SHA256, one HMAC key per blind index

Envelope of a sealed field: ``v1.<data key id>.<base64url(nonce ‖ ciphertext ‖ tag)>``.
Wrapped data key: ``k1.<master key id>.<base64url(nonce ‖ ciphertext ‖ tag)>``.

What the blind indexes leak (keyed HMAC-SHA256, truncated to 32 bits, per provider):
- email and phone: which customers of one provider share an email or a phone (equality), and
  nothing across providers (different keys). Without the data key, no dictionary attack is
  possible; with it, one could test guesses.
- names: for each customer and each booking, the set of tokens of the first 2…8 letters of each
  name word (accents and case removed). Someone with the database alone learns how many name
  words and how long (up to 8) each is, and which records share a word prefix — e.g. that two
  bookings are of the same family — but not the letters.
- Truncation to 32 bits means rare false positives; every caller re-checks candidates after
  decryption where it shows them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from domain.config import ConfigError, Settings

KEY_BYTES = 32
NONCE_BYTES = 12
_JSON = json.JSONEncoder(ensure_ascii=False)
NAME_PREFIX_MIN = 2
NAME_PREFIX_MAX = 8


class DecryptionError(Exception):
    """A sealed value did not authenticate: tampered, moved, or under another key. Never shown as empty."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"holaolas key id" + key).hexdigest()[:8]


# ---------------------------------------------------------------------------------------------
# Master keys


@dataclass
class MasterKeys:
    """The master key ring: the first key wraps, every key unwraps (so rotation needs no downtime)."""

    keys: list[bytes]
    source: str  # where they came from, for messages ("HOLAOLAS_MASTER_KEY" or the file path)

    @property
    def active_id(self) -> str:
        return key_id(self.keys[0])

    def _by_id(self) -> dict[str, bytes]:
        return {key_id(k): k for k in self.keys}

    def wrap(self, data_key: bytes, provider_id: int) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[0]).encrypt(nonce, data_key, _wrap_aad(provider_id))
        return f"k1.{self.active_id}.{_b64(nonce + sealed)}"

    def unwrap(self, wrapped: str, provider_id: int) -> bytes:
        try:
            version, kid, body = wrapped.split(".", 2)
        except ValueError:
            raise DecryptionError("malformed wrapped data key") from None
        key = self._by_id().get(kid)
        if version != "k1" or key is None:
            raise DecryptionError(f"data key wrapped by master key {kid}, which is not configured")
        raw = _unb64(body)
        try:
            return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _wrap_aad(provider_id))
        except InvalidTag:
            raise DecryptionError(f"data key of provider {provider_id} does not open with master key {kid}") from None

    def knows(self, wrapped: str) -> bool:
        parts = wrapped.split(".", 2)
        return len(parts) == 3 and parts[1] in self._by_id()


def _wrap_aad(provider_id: int) -> bytes:
    return f"holaolas/data-key|{provider_id}".encode()


def new_master_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def _parse_keys(text: str, source: str) -> list[bytes]:
    keys = []
    for item in text.replace(",", "\n").split():
        try:
            key = _unb64(item.strip())
        except (ValueError, TypeError):
            key = b""
        if len(key) != KEY_BYTES:
            raise ConfigError(
                f"{source} holds a master key that is not 32 bytes in base64url; generate one with `litestar keys new`."
            )
        keys.append(key)
    if not keys:
        raise ConfigError(f"{source} holds no master key.")
    return keys


def format_keys(keys: list[bytes]) -> str:
    return "\n".join(_b64(k) for k in keys) + "\n"


def load_master_keys(settings: Settings, *, may_create: bool) -> MasterKeys:
    """HOLAOLAS_MASTER_KEY (comma-separated, newest first) wins; else the key file, created only if allowed."""
    if settings.master_key_env:
        return MasterKeys(_parse_keys(settings.master_key_env, "HOLAOLAS_MASTER_KEY"), "HOLAOLAS_MASTER_KEY")
    path = settings.key_file
    if not path.exists():
        if not may_create:
            raise ConfigError(
                f"No master key: {path} is missing and HOLAOLAS_MASTER_KEY is not set, but the database holds "
                "encrypted data. Restore the key file from your backup (a new key would not open the data)."
            )
        write_key_file(path, [new_master_key()])
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"Cannot read the master key file {path}: {exc.strerror}.") from None
    return MasterKeys(_parse_keys(text, str(path)), str(path))


def write_key_file(path: Path, keys: list[bytes]) -> None:
    """Write atomically with mode 0600: a crash never leaves a half-written key file."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(format_keys(keys))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# Per-provider sealing and blind indexes


def new_data_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


@dataclass
class Sealer:
    """Seals and opens one provider's personal fields, and computes its blind-index tokens."""

    provider_id: int
    data_key: bytes
    _aead: AESGCM = field(init=False, repr=False)
    _index_keys: dict[str, bytes] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self):
        self._aead = AESGCM(self.data_key)
        self._kid = key_id(self.data_key)

    def _aad(self, table: str, column: str, row_id) -> bytes:
        return f"holaolas/v1|{self.provider_id}|{table}|{column}|{row_id}".encode()

    def seal(self, table: str, column: str, row_id, value: str | None) -> str | None:
        if value is None:
            return None
        nonce = os.urandom(NONCE_BYTES)
        body = self._aead.encrypt(nonce, value.encode(), self._aad(table, column, row_id))
        return f"v1.{self._kid}.{_b64(nonce + body)}"

    def open(self, table: str, column: str, row_id, envelope: str | None) -> str | None:
        if envelope is None:
            return None
        try:
            version, kid, body = envelope.split(".", 2)
            raw = _unb64(body)
        except (ValueError, TypeError):
            raise DecryptionError(f"{table}.{column} of {row_id} is not a sealed value") from None
        if version != "v1" or kid != self._kid:
            raise DecryptionError(f"{table}.{column} of {row_id} is sealed under another key")
        try:
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], self._aad(table, column, row_id)).decode()
        except InvalidTag:
            raise DecryptionError(f"{table}.{column} of {row_id} failed authentication") from None

    def seal_json(self, table: str, column: str, row_id, value) -> str | None:
        # = json.dumps(value, ensure_ascii=False), without building an encoder per call
        return None if value is None else self.seal(table, column, row_id, _JSON.encode(value))

    def open_json(self, table: str, column: str, row_id, envelope: str | None):
        text = self.open(table, column, row_id, envelope)
        return None if text is None else json.loads(text)

    # Blind indexes ----------------------------------------------------------------------------

    def _index_key(self, purpose: str) -> bytes:
        key = self._index_keys.get(purpose)
        if key is None:
            key = HKDF(
                algorithm=hashes.SHA256(),
                length=KEY_BYTES,
                salt=None,
                info=f"holaolas/blind-index|{self.provider_id}|{purpose}".encode(),
            ).derive(self.data_key)
            self._index_keys[purpose] = key
        return key

    def _token(self, purpose: str, normalised: str) -> int:
        digest = hmac.new(self._index_key(purpose), normalised.encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:4], "big", signed=True)  # fits a 32-bit INTEGER column

    def email_token(self, email: str | None) -> int | None:
        norm = normalise_email(email)
        return None if norm is None else self._token("customer.email", norm)

    def phone_token(self, phone: str | None, region: str) -> int | None:
        return self.e164_token(normalise_phone(phone, region))

    def e164_token(self, e164: str | None) -> int | None:
        """phone_token of a number already normalised to E.164 (parsing one costs ~50 µs)."""
        return None if e164 is None else self._token("customer.phone", e164)

    def name_tokens(self, name: str | None) -> set[int]:
        """Tokens of every 2…8-letter prefix of every word of a name (customer or participant)."""
        tokens = set()
        for word in name_words(name):
            for length in range(min(NAME_PREFIX_MIN, len(word)), min(NAME_PREFIX_MAX, len(word)) + 1):
                tokens.add(self._token("person.name", word[:length]))
        return tokens

    def name_query_tokens(self, query: str) -> list[int]:
        """One token per query word (cut to 8 letters); words shorter than 2 letters are ignored."""
        return [
            self._token("person.name", word[:NAME_PREFIX_MAX])
            for word in name_words(query)
            if len(word) >= NAME_PREFIX_MIN
        ]


# ---------------------------------------------------------------------------------------------
# Normalisation, shared by indexing and by re-checking candidates


def normalise_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return unicodedata.normalize("NFKC", email).strip().lower()


def normalise_phone(phone: str | None, region: str = "FR") -> str | None:
    """E.164 (+33612345678) for anything phonenumbers can parse; None otherwise."""
    if not phone or not phone.strip():
        return None
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def fold(text: str) -> str:
    """Lower-case without accents: "José" → "jose"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def name_words(name: str | None) -> list[str]:
    """Words of a name, folded, split on spaces, hyphens and apostrophes: "Marie-Hélène d'Arc" → marie helene d arc."""
    if not name:
        return []
    spaced = "".join(c if c.isalnum() else " " for c in fold(name))
    return spaced.split()


def name_matches(name: str | None, query: str) -> bool:
    """The re-check after decryption: every query word is a prefix of some word of the name."""
    words = name_words(name)
    return all(any(w.startswith(q) for w in words) for q in name_words(query) if len(q) >= NAME_PREFIX_MIN)
