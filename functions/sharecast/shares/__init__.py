"""Sharing videos (SPEC §4.1): share links, message composition, enrichment, share rounds."""
