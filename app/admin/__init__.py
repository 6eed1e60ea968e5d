"""The 管理者 (admin) workspace."""
