"""The dashboard's SQL, by page, against the marts, reference data and meta of the serving copy.

Figures (amounts, arrival rates, ages, arrears, late fees, findings) come from the dbt marts
as they are; these modules only select, filter (by unit for employer pages, the unit id
bound from the authenticated session, never from the URL) and group rows for display.
"""
