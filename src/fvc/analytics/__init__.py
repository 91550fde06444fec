"""DuckDB analytics over the workspace tables, results and experiment logs."""

from .queries import NAMED_QUERIES, list_queries, named_sql, run_named
from .views import KNOWN_TABLES, Analytics, connect

__all__ = ["NAMED_QUERIES", "KNOWN_TABLES", "Analytics", "connect", "list_queries", "named_sql", "run_named"]
