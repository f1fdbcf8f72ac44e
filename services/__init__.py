"""The nameko services; none imports another, they share only `shared/`."""
