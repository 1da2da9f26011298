"""What every domain builds on, and which knows none of them: settings, the database, errors,
logging, the HTTP plumbing (middleware, request parsing, the OpenAPI document), the server
protocol, rate limits and background jobs."""
