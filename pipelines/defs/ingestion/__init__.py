"""Ingestion: one asset per landing source and the landing sensor."""
