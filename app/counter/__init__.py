"""The 窓口職員 (counter) workspace."""
