"""The messages on the wire: the envelope (`envelope`), what every contract shares
(`common`), round ids (`rounds`), and each publishing service's contracts."""
