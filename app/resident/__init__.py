"""The resident (住民) view: join by link and PIN or at a kiosk, follow, confirm, sign."""
