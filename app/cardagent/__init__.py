"""The counter's card agent: reads the My Number card over PC/SC and sends it to the server."""
