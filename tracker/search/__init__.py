"""The search language: parsing and printing queries (tracker/search/query.py)."""
