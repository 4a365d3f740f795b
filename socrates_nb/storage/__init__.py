"""Storage: the typed ORM model, the database engine and migrations."""
