"""Persistence: the SQL ledger (SQLAlchemy 2 Core tables, repositories, the unit of work, the paper store, Alembic
migrations) and the memory ledger beside it (memory.py, memory_operations.py: no SQLAlchemy).

SQLAlchemy and Alembic live only here; the domain never sees them. Mapping between rows and domain objects is
explicit code (mapping.py), shared by both ledgers. Import the module you need: this package imports nothing, so
that the memory ledger loads without SQLAlchemy.
"""
