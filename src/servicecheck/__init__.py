"""servicecheck: check customer-service conversations and scripts against written service policies."""

__version__ = "0.1.0"
