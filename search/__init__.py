"""Search: the FAISS index kept in sync with the catalog, and the query engine."""

from search.engine import Hit, QueryEngine, SearchResult
from search.vector_index import VectorIndex

__all__ = ["Hit", "QueryEngine", "SearchResult", "VectorIndex"]
