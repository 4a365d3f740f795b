"""Quality of a specification: maturity now; lint rules, classifier and conflicts later."""
