"""The card reader route: the agent's signed API, pairing, and the staff confirmation panel."""
