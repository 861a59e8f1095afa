"""End-to-end tests: the real server (gunicorn) and the demo district in headless chromium."""
