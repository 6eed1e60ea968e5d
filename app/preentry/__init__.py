"""事前入力 (pre-entry): a public page where residents prepare a signed QR before a visit."""
