"""HTTP routes of the prevention service."""

from fastapi import APIRouter

router = APIRouter()
