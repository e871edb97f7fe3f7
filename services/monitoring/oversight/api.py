"""Routes of the oversight part."""

from __future__ import annotations

from fastapi import APIRouter

routers: list[APIRouter] = []
