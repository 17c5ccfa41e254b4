"""JSON referrals: submit, read, update, cancel, erase."""
