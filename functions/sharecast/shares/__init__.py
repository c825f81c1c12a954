"""Sharing videos (docs/api.md#video-shares): share links, message composition, enrichment, share
rounds."""
