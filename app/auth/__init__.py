"""Staff login and the access rules every endpoint declares."""
