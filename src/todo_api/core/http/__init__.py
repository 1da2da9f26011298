"""HTTP plumbing the domains' routes share: request parts read without FastAPI's machinery,
ETags, the documented error responses, validation and 405 answers, health checks and the
OpenAPI document."""
