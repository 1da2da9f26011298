"""Business logic: what the routes ask for, in terms of the database."""
