"""Endpoints beside the token endpoint, one module each."""
