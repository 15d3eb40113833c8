"""The landing contract: the sources, their Chinese headers and types, and the identifier checks."""
