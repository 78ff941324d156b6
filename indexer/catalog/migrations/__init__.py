"""The Alembic migration environment of the catalog schema, shipped inside the package.

Run it through `indexer.catalog.migrate` (or `lookalike migrate`); no alembic.ini is needed.
"""
