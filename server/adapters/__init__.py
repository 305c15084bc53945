"""Adapters: SQLAlchemy mapping, repositories, blob store."""
