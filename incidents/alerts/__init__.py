"""Alerts in: the payload shapes senders post (payloads.py) and what each delivery does (ingest.py)."""
