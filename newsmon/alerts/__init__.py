"""Alert rules, matching, outbox and delivery channels."""
