"""HTTP routes: thin, each parses a schema, calls the ledger (writes) or api/queries (reads),
returns a schema. Route modules share only api/routes/common.py, never one another's names
(import-linter contracts in pyproject.toml)."""
