"""Fund supervision station."""

__version__ = "0.1.0"
