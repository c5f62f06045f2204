"""vidwatch: real-time video change and anomaly detection."""

__version__ = "0.1.0"
