"""The typed commands of incubation (API bodies, query strings, HTML forms) and what its API answers,
one module per subdomain. See portal/schemas.py for the shared field types."""
