"""The HTTP gateway: the system's only public face."""
