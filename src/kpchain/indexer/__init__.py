"""Chain events -> SQL store: the indexer, its tables and the reads the API makes of them."""

from kpchain.indexer.indexer import BlockRef, Indexer

__all__ = ["BlockRef", "Indexer"]
