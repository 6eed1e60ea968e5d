"""Pure scanning: image (ndarray) -> decoded codes; My Number; pre-entry payloads."""
