"""Helpers shared by integration and e2e tests (real HTTP clients, SSE parsing)."""
