"""The service layer: every business rule lives here, behind every door."""
