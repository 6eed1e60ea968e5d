"""The JSON API used by staff screens and other systems (``/api/v1``)."""
