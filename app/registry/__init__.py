"""The resident registry (住民基本台帳) behind an adapter: a demo table now, a real system later."""
