"""Messaging on RabbitMQ: confirmed publishing, reliable consumers, dead-letter tools."""
