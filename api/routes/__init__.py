"""HTTP routes: thin, each parses a schema, calls one ledger or view method, renders."""
