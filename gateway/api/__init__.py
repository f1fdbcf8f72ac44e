"""HTTP resources of the gateway, one blueprint per area."""
