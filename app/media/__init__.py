"""The video counter's media layer (映像窓口): the server as a WebRTC peer (aiortc).

``server.MediaServer`` is the one front (answer offers, close calls, scan, stills);
``loop`` runs its asyncio loop in a thread, ``peers`` keeps the connections and relays
between staff and resident, ``tracks`` holds the server's own tracks, ``views`` the
signalling endpoint. See docs/media.md.
"""
