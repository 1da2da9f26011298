"""HTTP routes: parse the request, call a service, return the response."""
