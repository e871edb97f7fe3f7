"""The gateway's Ed25519 signing key pair: ``python -m gateway.keys generate --dir var/keys``.

The private key signs access tokens and never leaves the gateway; the public key is what every
service verifies with (``JWT_PUBLIC_KEY_FILE``) and what ``/.well-known/jwks.json`` publishes.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PRIVATE_KEY_NAME = "jwt-private.pem"
PUBLIC_KEY_NAME = "jwt-public.pem"


def load_private_key(path: Path | str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path | str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(Path(path).read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise TypeError(f"{path} is not an Ed25519 public key")
    return key


def public_pem(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    # Written under a temporary name with its final mode, then renamed: a reader never sees half a key,
    # and the private key is never readable by others, not even for a moment.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ensure_keypair(directory: Path | str) -> tuple[Path, Path]:
    """Make sure ``directory`` holds ``jwt-private.pem`` (0600) and ``jwt-public.pem``; return their paths.

    Both present: nothing is touched. Only the private key present: its public half is written
    (a private key is never replaced, or every token in circulation would stop verifying).
    """
    directory = Path(directory)
    private_path, public_path = directory / PRIVATE_KEY_NAME, directory / PUBLIC_KEY_NAME
    if private_path.exists() and public_path.exists():
        return private_path, public_path
    directory.mkdir(parents=True, exist_ok=True)
    if private_path.exists():
        private_key = load_private_key(private_path)
    else:
        private_key = Ed25519PrivateKey.generate()
        pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        _write_atomically(private_path, pem, 0o600)
    _write_atomically(public_path, public_pem(private_key), 0o644)
    return private_path, public_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway.keys", description="Manage the gateway's token signing keys.")
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate", help="write an Ed25519 key pair unless one is already there")
    generate.add_argument("--dir", default="var/keys", type=Path, help="directory for jwt-private.pem and jwt-public.pem")
    args = parser.parse_args(argv)
    private_path, public_path = ensure_keypair(args.dir)
    print(f"private key: {private_path}")
    print(f"public key:  {public_path}")


if __name__ == "__main__":
    main()
