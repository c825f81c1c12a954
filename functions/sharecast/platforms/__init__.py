"""Connectors to each network's publishing API, behind one small interface (``base``)."""
