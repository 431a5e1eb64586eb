"""One module per revision, oldest first (`down_revision` links them)."""
