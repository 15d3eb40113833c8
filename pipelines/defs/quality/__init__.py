"""The blocking GX checks on raw and the soft contribution-amount check."""
