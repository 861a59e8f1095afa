"""API endpoints, one router module per domain."""
