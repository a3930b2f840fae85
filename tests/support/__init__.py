"""Helpers shared by the tests (and the benchmarks): one place for each, imported, never copied.

codes       valid USCCs, ID-card numbers, camera IDs and the districts the tests use
factories   the ledger's own commands on eventsourcing's in-memory store (unit tests)
districts   a unit and an officer filing through the ledger with given dates (view tests)
http        request bodies, accounts, uploads and filings through the HTTP contract
pages       the officer pages' sign-in through a TestClient
seeded      a small district made through the HTTP API of a served app (browser tests)
processes   a free loopback port, a served `psvs-ledger serve` and its readiness
postgres    a test database's URL, the ledger on it, plain SQL against it
faults      real server processes on an embedded PostgreSQL, and retrying clients
sheets      hostile device sheets built in memory
oidc        the real OpenID provider of tests/oidc_provider/provider.mjs
logs        the service's JSON log lines

Fixtures stay in the conftest.py files (pytest finds them there); what they call lives here.
"""
