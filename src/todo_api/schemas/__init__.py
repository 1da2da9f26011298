"""Request and response bodies, one module per subject: tasks, listing, accounts, messages."""
