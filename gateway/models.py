"""Tables of the gateway's own database: the API clients allowed to ask for tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ApiClient(Base):
    """A system allowed to call the platform (接入方): an insurer, a bureau, the municipal platform…

    The secret is kept only as an Argon2 hash; the plaintext is shown once, when the client is created.
    """

    __tablename__ = "api_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    # Which insurer, bureau, institution… the client acts for; copied into every token it gets.
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    # A bureau's industries (行业主管部门的行业); empty for every other role.
    industries: Mapped[list[str]] = mapped_column(JSON, default=list)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    secret_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None, index=True)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
