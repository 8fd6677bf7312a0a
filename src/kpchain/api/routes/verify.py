"""Placeholder: filled in by the issue-4 work."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
