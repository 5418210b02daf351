"""Fund supervision station."""

__version__ = "0.2.0"
