"""Tables of the prevention service's own database (business tables arrive with its issue)."""

from sqlalchemy.orm import DeclarativeBase

from kernel.messaging_tables import messaging_tables


class Base(DeclarativeBase):
    pass


messaging = messaging_tables(Base.metadata)
