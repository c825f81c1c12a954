"""Firestore repositories. Functions take the client (or transaction) as an argument."""
