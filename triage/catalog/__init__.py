"""Model catalog: prices, context windows, capabilities (data, not code)."""

from triage.catalog.model import TASK_TYPES, Catalog, CatalogModel, load_catalog, parse_catalog

__all__ = ["TASK_TYPES", "Catalog", "CatalogModel", "load_catalog", "parse_catalog"]
