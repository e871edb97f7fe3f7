"""A verified token is remembered only until its ``exp``: after that it is checked again and refused as expired."""

from __future__ import annotations

import time

import jwt
import pytest

from contracts.enums import Role
from kernel.auth import TokenVerifier
from kernel.errors import Unauthorized
from tests.support.tokens import AUDIENCE, ISSUER, TokenMint

LEEWAY = 5  # seconds PyJWT allows past exp (kernel/auth.py)


def test_a_remembered_token_stops_working_once_it_expires(tmp_path):
    mint = TokenMint(tmp_path / "keys")
    verifier = TokenVerifier(mint.public_key_file, ISSUER, AUDIENCE)
    token = mint.token(Role.INSURER, "INS-A", ttl=1)
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]

    first = verifier.verify(token)
    assert verifier.verify(token) == first and first.tenant == "INS-A"  # answered from memory
    with pytest.raises(Unauthorized):
        verifier.verify(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])  # a near copy is not the remembered one

    time.sleep(max(0.0, expires + LEEWAY + 0.5 - time.time()))  # just past exp and its leeway
    with pytest.raises(Unauthorized) as refused:
        verifier.verify(token)
    assert refused.value.rule == "auth.token_expired"
