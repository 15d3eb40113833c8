"""The ground floor every part of shebao stands on: paths, settings, the serving-copy reader, the landing contract.

It imports nothing of the other packages, so everything above may lean on it.
"""
