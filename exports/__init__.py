"""Outbound deliveries: outbox marts -> webhooks, with a delivery log in raw_ops."""
