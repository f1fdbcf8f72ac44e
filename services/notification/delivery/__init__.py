"""Getting a notice to the guardian exactly once: the ledger, the inbox, e-mail and SMS."""
