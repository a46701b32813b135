"""Client API keys: format, minting, keyed hashing, and the key table (pure: no I/O but the CLI).

A key looks like ``ocigw_<key id>_<secret>``:

* ``ocigw_`` is a fixed prefix, so secret scanners and log filters can spot a leaked key;
* the key id (12 lower-case letters/digits) is *not* secret: it names the key in logs, in the
  table and in the ``X-Gateway-Key-Id`` header, and lets the authorizer find the one record to
  check instead of hashing against every row;
* the secret is 256 random bits written as exactly 43 base62 characters.

The table stores ``HMAC-SHA256(pepper, key)``, never the key. Keys carry 256 bits of entropy,
so a fast keyed hash is enough (no bcrypt/scrypt: a function may run on a tenth of a CPU); the
pepper lives apart from the table (another Vault secret), so a leaked table alone is useless.
Comparison uses :func:`hmac.compare_digest` (constant time).

The table is JSON: ``{"keys": [record, ...]}`` (a bare list is accepted too). A record::

    {"id": "k3x9...", "hash": "hmac-sha256:<64 hex>", "owner": "team-a",
     "models": ["meta.*", "gpt-4o"], "expires": "2027-01-01T00:00:00Z", "disabled": false,
     "guardrails": "pii=mask,prompt_injection=block"}

At most :data:`MAX_LIVE_KEYS_PER_OWNER` keys per owner may be live (not disabled, not expired):
enough to roll a key over without downtime, few enough that forgotten keys stand out.

Stdlib only: pydantic would cost ~180 ms of import and first-model time on a cold authorizer for
six fields.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import re
import secrets
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Iterable, Mapping, TextIO

from core.errors import ConfigError
from core.guardrails.policy import NO_GUARDRAILS, GuardrailPolicy, parse_policy

PREFIX = "ocigw"
KEY_ID_LENGTH = 12
SECRET_LENGTH = 43  # ceil(256 / log2(62)): 43 base62 characters hold 256 bits
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
KEY_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
HASH_SCHEME = "hmac-sha256"
MAX_LIVE_KEYS_PER_OWNER = 2
MIN_PEPPER_BYTES = 32

KEY_RE = re.compile(rf"^{PREFIX}_([0-9a-z]{{{KEY_ID_LENGTH}}})_([0-9A-Za-z]{{{SECRET_LENGTH}}})$")
KEY_ID_RE = re.compile(rf"^[0-9a-z]{{{KEY_ID_LENGTH}}}$")
HASH_RE = re.compile(rf"^{HASH_SCHEME}:[0-9a-f]{{64}}$")
_RECORD_FIELDS = frozenset({"id", "hash", "owner", "models", "expires", "disabled", "created", "note", "admin",
                            "guardrails"})


# ---------------------------------------------------------------------------------------------
# Keys


def _base62(value: int, width: int) -> str:
    digits = []
    for _ in range(width):
        value, rem = divmod(value, 62)
        digits.append(BASE62[rem])
    return "".join(reversed(digits))


def new_key_id() -> str:
    return "".join(secrets.choice(KEY_ID_ALPHABET) for _ in range(KEY_ID_LENGTH))


def new_key(key_id: str | None = None) -> str:
    """A fresh key: prefix, key id, 256 random bits in base62."""
    key_id = key_id or new_key_id()
    if not KEY_ID_RE.match(key_id):
        raise ValueError("key id must be 12 lower-case letters or digits")
    return f"{PREFIX}_{key_id}_{_base62(secrets.randbits(256), SECRET_LENGTH)}"


def parse_key(candidate: str) -> str | None:
    """The key id of a well-formed key, else None (never raises, never echoes the input)."""
    if not isinstance(candidate, str) or len(candidate) > 128:
        return None
    found = KEY_RE.match(candidate)
    return found.group(1) if found else None


def key_hash(key: str, pepper: bytes) -> str:
    """The stored form of a key: ``hmac-sha256:<hex>`` keyed by the pepper."""
    return f"{HASH_SCHEME}:{hmac.new(pepper, key.encode('utf-8'), hashlib.sha256).hexdigest()}"


def hash_matches(key: str, stored_hash: str, pepper: bytes) -> bool:
    """Constant-time check of a presented key against a stored hash."""
    return hmac.compare_digest(key_hash(key, pepper).encode("ascii"), stored_hash.encode("ascii"))


def parse_pepper(raw: bytes | str, source: str) -> bytes:
    """The pepper's bytes (surrounding whitespace dropped, so a trailing newline in a file is harmless)."""
    value = (raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)).strip()
    if len(value) < MIN_PEPPER_BYTES:
        raise ConfigError(f"{source}: the API key pepper must be at least {MIN_PEPPER_BYTES} bytes "
                          "(generate one with `python -m core.apikeys pepper`)")
    return value


def new_pepper() -> str:
    """A random pepper (256 bits, base62): printable, so it fits a config value or a Vault secret alike."""
    return _base62(secrets.randbits(256), SECRET_LENGTH)


# ---------------------------------------------------------------------------------------------
# Records and the table


@dataclass(frozen=True)
class KeyRecord:
    """One row of the key table (no secret in it: ``hash`` is useless without the pepper)."""

    key_id: str
    hash: str = field(repr=False)
    owner: str
    models: tuple[str, ...]
    expires: datetime | None = None
    disabled: bool = False
    created: str | None = None
    note: str | None = None
    admin: bool = False
    """May run the paid checks of ``GET /health?deep=1``."""
    guardrails: GuardrailPolicy = NO_GUARDRAILS
    """The key's guardrail modes, sent on as the authorizer context's ``guardrails``."""

    def is_expired(self, now: datetime) -> bool:
        return self.expires is not None and now >= self.expires

    def is_live(self, now: datetime) -> bool:
        return not self.disabled and not self.is_expired(now)

    def allowed_models(self) -> str:
        """The allow-list as the authorizer's context value (comma-separated patterns)."""
        return ",".join(self.models)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.key_id, "hash": self.hash, "owner": self.owner, "models": list(self.models)}
        if self.expires is not None:
            data["expires"] = format_time(self.expires)
        data["disabled"] = self.disabled
        if self.admin:
            data["admin"] = True
        if self.created:
            data["created"] = self.created
        if self.note:
            data["note"] = self.note
        if self.guardrails.active:
            data["guardrails"] = self.guardrails.text()
        return data


def format_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_time(raw: Any, where: str) -> datetime:
    """``2027-01-01`` (midnight UTC) or an ISO-8601 date-time; a naive time is UTC."""
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{where}: expected an ISO-8601 date or date-time string")
    text = raw.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{where}: {text[:40]!r} is not an ISO-8601 date or date-time") from None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def parse_models(raw: Any, where: str) -> tuple[str, ...]:
    """Allowed model names, aliases or globs; non-empty, no commas (the context value is a comma list)."""
    if isinstance(raw, str):
        raw = [part for part in raw.split(",")]
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: 'models' must be a non-empty list of model names or patterns "
                          "(use [\"*\"] for every model)")
    models: list[str] = []
    for item in raw:
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(f"{where}: every entry of 'models' must be a non-empty string")
        item = item.strip()
        if "," in item or any(ch.isspace() or ord(ch) < 32 for ch in item) or len(item) > 200:
            raise ConfigError(f"{where}: model pattern {item[:40]!r} may not contain commas, spaces or control "
                              "characters")
        models.append(item)
    return tuple(dict.fromkeys(models))


def _flags_and_notes(entry: dict[str, Any], where: str) -> tuple[bool, bool]:
    """``disabled`` and ``admin`` (booleans), after checking ``created`` and ``note`` are strings."""
    disabled, admin = entry.get("disabled", False), entry.get("admin", False)
    if not isinstance(disabled, bool) or not isinstance(admin, bool):
        raise ConfigError(f"{where}: 'disabled' and 'admin' must be true or false")
    for name in ("created", "note"):
        if entry.get(name) is not None and not isinstance(entry.get(name), str):
            raise ConfigError(f"{where}: '{name}' must be a string")
    return disabled, admin


def parse_record(entry: Any, where: str) -> KeyRecord:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected an object with id, hash, owner and models")
    unknown = sorted(set(entry) - _RECORD_FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_RECORD_FIELDS))}")
    key_id = entry.get("id")
    if not isinstance(key_id, str) or not KEY_ID_RE.match(key_id):
        raise ConfigError(f"{where}: 'id' must be {KEY_ID_LENGTH} lower-case letters or digits")
    where = f"{where} (id {key_id})"
    stored = entry.get("hash")
    if not isinstance(stored, str) or not HASH_RE.match(stored):
        raise ConfigError(f"{where}: 'hash' must be '{HASH_SCHEME}:' followed by 64 hex digits "
                          "(the record printed by `python -m core.apikeys mint`)")
    owner = entry.get("owner")
    if not isinstance(owner, str) or not owner.strip() or len(owner) > 100:
        raise ConfigError(f"{where}: 'owner' must be a non-empty label of at most 100 characters")
    disabled, admin = _flags_and_notes(entry, where)
    expires = entry.get("expires")
    return KeyRecord(
        key_id=key_id, hash=stored, owner=owner.strip(), models=parse_models(entry.get("models"), where),
        expires=None if expires is None else parse_time(expires, f"{where} 'expires'"), disabled=disabled,
        created=entry.get("created"), note=entry.get("note"), admin=admin,
        guardrails=parse_policy(entry.get("guardrails"), where),
    )


@dataclass(frozen=True)
class KeyTable:
    """The parsed table, indexed by key id."""

    records: Mapping[str, KeyRecord]

    def get(self, key_id: str) -> KeyRecord | None:
        return self.records.get(key_id)

    def to_json(self) -> dict[str, Any]:
        return {"keys": [record.to_json() for record in self.records.values()]}


def parse_table(raw: str | bytes | Any, *, source: str = "API key table", now: datetime | None = None) -> KeyTable:
    """Parse and validate a key table (JSON text or already-decoded JSON); a ConfigError says what is wrong.

    Error messages name key ids and fields, never a hash value.
    """
    now = now or datetime.now(timezone.utc)
    data = raw
    if isinstance(raw, (str, bytes)):
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{source} is not valid JSON ({type(exc).__name__} at "
                              f"{getattr(exc, 'pos', '?')})") from None
    if isinstance(data, dict):
        extra = sorted(set(data) - {"keys"})
        if extra or "keys" not in data:
            raise ConfigError(f"{source} must be {{\"keys\": [...]}} (found {', '.join(extra) or 'no keys'})")
        data = data["keys"]
    if not isinstance(data, list):
        raise ConfigError(f"{source} must be {{\"keys\": [...]}} or a JSON list of key records")
    records: dict[str, KeyRecord] = {}
    for index, entry in enumerate(data):
        record = parse_record(entry, f"{source}: key #{index + 1}")
        if record.key_id in records:
            raise ConfigError(f"{source}: key id {record.key_id} appears twice")
        records[record.key_id] = record
    check_live_per_owner(records.values(), now, source)
    return KeyTable(records)


def check_live_per_owner(records: Iterable[KeyRecord], now: datetime, source: str = "API key table") -> None:
    live: dict[str, list[str]] = {}
    for record in records:
        if record.is_live(now):
            live.setdefault(record.owner, []).append(record.key_id)
    for owner, ids in live.items():
        if len(ids) > MAX_LIVE_KEYS_PER_OWNER:
            raise ConfigError(f"{source}: owner {owner!r} has {len(ids)} live keys ({', '.join(ids)}); at most "
                              f"{MAX_LIVE_KEYS_PER_OWNER} may be live at once (disable or expire the old one)")


# ---------------------------------------------------------------------------------------------
# Verification and the allow-list


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking a presented key. ``reason`` is for logs only, never for the client."""

    record: KeyRecord | None
    reason: str
    key_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.record is not None


# Hashed when the key id is unknown, so every well-formed key costs one HMAC and one comparison.
_DUMMY_HASH = f"{HASH_SCHEME}:{'0' * 64}"


def verify(key: str | None, table: KeyTable, pepper: bytes, now: datetime | None = None) -> Verdict:
    """Check a presented key: missing, malformed, unknown, wrong secret, disabled, expired, or ok."""
    now = now or datetime.now(timezone.utc)
    if not key:
        return Verdict(None, "missing")
    key_id = parse_key(key)
    if key_id is None:
        return Verdict(None, "malformed")
    record = table.get(key_id)
    matched = hash_matches(key, record.hash if record else _DUMMY_HASH, pepper)
    if record is None:
        return Verdict(None, "unknown", key_id)
    if not matched:
        return Verdict(None, "wrong_secret", key_id)
    if record.disabled:
        return Verdict(None, "disabled", key_id)
    if record.is_expired(now):
        return Verdict(None, "expired", key_id)
    return Verdict(record, "ok", key_id)


# ---------------------------------------------------------------------------------------------
# Minting (used by the CLI)


def mint(owner: str, models: Iterable[str] | str = ("*",), *, pepper: bytes, expires: datetime | None = None,
         note: str | None = None, now: datetime | None = None, admin: bool = False,
         guardrails: str | None = None) -> tuple[str, KeyRecord]:
    """A new key and the record to add to the table (the key itself is shown once and never stored)."""
    now = now or datetime.now(timezone.utc)
    if expires is not None and expires <= now:
        raise ConfigError("the expiry is in the past")
    key = new_key()
    key_id = parse_key(key)
    assert key_id is not None
    record = parse_record({"id": key_id, "hash": key_hash(key, pepper), "owner": owner,
                           "models": list(models) if not isinstance(models, str) else models,
                           "disabled": False, "created": format_time(now),
                           **({"expires": format_time(expires)} if expires else {}),
                           **({"note": note} if note else {}), **({"admin": True} if admin else {}),
                           **({"guardrails": guardrails} if guardrails else {})}, "new key")
    return key, record


def _load_pepper(args: argparse.Namespace) -> bytes:
    import os

    if args.pepper_file:
        with open(args.pepper_file, "rb") as handle:
            return parse_pepper(handle.read(), args.pepper_file)
    raw = os.environ.get("API_KEYS_PEPPER")
    if not raw:
        raise ConfigError("no pepper: pass --pepper-file FILE or set API_KEYS_PEPPER (the same value the authorizer "
                          "uses; generate one with `python -m core.apikeys pepper`)")
    return parse_pepper(raw, "API_KEYS_PEPPER")


def _read_table_file(path: str) -> KeyTable:
    with open(path, encoding="utf-8") as handle:
        return parse_table(handle.read(), source=path)


def _write_table_file(path: str, table: KeyTable) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(table.to_json(), indent=2) + "\n")


def _print_pepper(args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
    print(new_pepper(), file=out)


def _mint_key(args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
    pepper = _load_pepper(args)
    expires = parse_time(args.expires, "--expires") if args.expires else None
    key, record = mint(args.owner, args.models, pepper=pepper, expires=expires, note=args.note, admin=args.admin,
                       guardrails=args.guardrails)
    if args.table:
        _add_to_table_file(args.table, record)
        print(f"Added key {record.key_id} to {args.table}.", file=err)
    print("API key (shown once, store it now; the gateway keeps only its hash):", file=err)
    print(key, file=out)
    print("Record for the key table:", file=err)
    print(json.dumps(record.to_json()), file=out)


def _add_to_table_file(path: str, record: KeyRecord) -> None:
    table = _read_table_file(path)
    _rewrite_table_file(path, [r.to_json() for r in table.records.values()] + [record.to_json()])


def _rewrite_table_file(path: str, rows: list[dict[str, Any]]) -> None:
    """Check the rows as a whole table (so a bad edit fails before anything is written), then write them."""
    _write_table_file(path, parse_table({"keys": rows}, source=path))


def _print_hash(args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
    key = sys.stdin.readline().strip()
    if parse_key(key) is None:
        raise ConfigError("stdin does not hold a well-formed key (ocigw_<id>_<secret>)")
    print(key_hash(key, _load_pepper(args)), file=out)


def _check_table(args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
    table = _read_table_file(args.table)
    now = datetime.now(timezone.utc)
    live = sum(1 for r in table.records.values() if r.is_live(now))
    for warning in alias_warnings(table, _alias_targets(args.aliases)):
        print(f"warning: {warning}", file=err)
    print(f"{args.table}: {len(table.records)} keys, {live} live: OK", file=out)


def alias_warnings(table: KeyTable, targets: Mapping[str, str]) -> list[str]:
    """Keys whose allow-list covers an alias's OCI model id but not the alias's name.

    ``targets`` maps alias names to the OCI model id each points at. The allow-list judges only the
    name a caller uses, so such a key cannot call the alias (before gateway issue 13 it could).
    """
    import fnmatch

    warnings = []
    for record in table.records.values():
        for alias, model in sorted(targets.items()):
            by_id = [p for p in record.models if fnmatch.fnmatchcase(model, p)]
            if by_id and not any(fnmatch.fnmatchcase(alias, p) for p in record.models):
                warnings.append(f"key {record.key_id} ({record.owner}) allows {by_id[0]!r}, the OCI model behind "
                                f"alias {alias!r}, but not the alias itself: the allow-list judges only the name a "
                                f"caller uses, so this key cannot call {alias!r}. Add {alias!r} to its models if it "
                                "should.")
    return warnings


def _alias_targets(path: str | None) -> dict[str, str]:
    """Alias name -> OCI model id, from ``--aliases FILE`` or else the gateway's MODEL_ALIASES_FILE and MODEL_ALIASES."""
    import os

    from core.aliases import parse_aliases

    sources: list[tuple[str, str]] = []
    file_path = path or os.environ.get("MODEL_ALIASES_FILE")
    if file_path:
        with open(file_path, encoding="utf-8") as handle:
            sources.append((handle.read(), file_path))
    if path is None and os.environ.get("MODEL_ALIASES"):
        sources.append((os.environ["MODEL_ALIASES"], "MODEL_ALIASES"))
    targets: dict[str, str] = {}
    for text, source in sources:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{source}: not valid JSON ({exc})") from None
        targets.update({name: alias.model for name, alias in parse_aliases(data, source).items()})
    return targets


def _disable_key(args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
    table = _read_table_file(args.table)
    if table.get(args.key_id) is None:
        raise ConfigError(f"no key {args.key_id} in {args.table}")
    rows = [dict(r.to_json(), disabled=True) if r.key_id == args.key_id else r.to_json()
            for r in table.records.values()]
    _rewrite_table_file(args.table, rows)
    print(f"Key {args.key_id} disabled in {args.table}; upload the table to take effect.", file=err)


def _cli_parser() -> argparse.ArgumentParser:
    """The CLI's arguments; each subcommand's ``run`` is the function that carries it out."""
    parser = argparse.ArgumentParser(prog="python -m core.apikeys", description="Manage the gateway's API keys.")
    sub = parser.add_subparsers(dest="command", required=True)
    mint_cmd = sub.add_parser("mint", help="create a key; prints it once plus the record for the table")
    mint_cmd.add_argument("--owner", required=True, help="who the key belongs to (a label, e.g. team-search)")
    mint_cmd.add_argument("--models", default="*", help="comma-separated models, aliases or globs (default: *)")
    mint_cmd.add_argument("--expires", help="expiry, e.g. 2027-01-01 (midnight UTC) or 2027-01-01T12:00:00Z")
    mint_cmd.add_argument("--note", help="free text kept in the record")
    mint_cmd.add_argument("--admin", action="store_true",
                          help="may run GET /health?deep=1 (paid model calls, at most once a minute per container)")
    mint_cmd.add_argument("--guardrails", help="guardrail modes for this key, e.g. pii=mask,prompt_injection=block")
    mint_cmd.add_argument("--pepper-file", help="file holding the pepper (default: $API_KEYS_PEPPER)")
    mint_cmd.add_argument("--table", help="a table file to add the record to (checked, rewritten in place)")
    mint_cmd.set_defaults(run=_mint_key)
    sub.add_parser("pepper", help="print a new random pepper").set_defaults(run=_print_pepper)
    hash_cmd = sub.add_parser("hash", help="print the stored hash of a key read from stdin")
    hash_cmd.add_argument("--pepper-file")
    hash_cmd.set_defaults(run=_print_hash)
    check_cmd = sub.add_parser("check", help="validate a table file; warn about keys that allow an alias's OCI model "
                                              "id but not the alias")
    check_cmd.add_argument("table")
    check_cmd.add_argument("--aliases", help="the alias file (default: $MODEL_ALIASES_FILE, then $MODEL_ALIASES)")
    check_cmd.set_defaults(run=_check_table)
    disable_cmd = sub.add_parser("disable", help="mark a key disabled in a table file")
    disable_cmd.add_argument("table")
    disable_cmd.add_argument("key_id")
    disable_cmd.set_defaults(run=_disable_key)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _cli_parser().parse_args(argv)
    out, err = sys.stdout, sys.stderr
    try:
        args.run(args, out, err)
    except ConfigError as exc:
        print(f"error: {exc}", file=err)
        return 2
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename}", file=err)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
