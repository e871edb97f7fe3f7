"""Events the prevention service learns from other services."""

from kernel.consumer import Handler

HANDLERS: dict[str, Handler] = {}
