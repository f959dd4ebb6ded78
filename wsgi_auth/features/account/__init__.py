"""The account's own page: a verified email address, notices, deleting the account, its export."""
