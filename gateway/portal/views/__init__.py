"""The portal's pages, one blueprint per audience."""
