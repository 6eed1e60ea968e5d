"""The 制度所管課 (policy) workspace."""
