"""Lookalike's core: catalog (database), encoder (model), ingest (write path) and training."""
