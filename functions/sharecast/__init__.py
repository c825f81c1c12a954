"""Sharecast: publish posts and share videos to social networks from Google Cloud functions."""
