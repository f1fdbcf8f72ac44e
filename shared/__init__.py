"""Contracts and plumbing shared by the Tuyensinh services and the gateway."""
