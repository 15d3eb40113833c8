"""Dagster definitions by domain: each folder holds the assets, checks and sensors of one stage."""
