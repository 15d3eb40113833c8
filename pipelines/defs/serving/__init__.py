"""The serving copy readers open."""
