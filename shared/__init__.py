"""What every appeal-loop service needs: event schemas, topics, settings, storage,
delivery guarantees (outbox, idempotent consumers, dead letters), logging and metrics."""
