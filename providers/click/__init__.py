"""CLICK PASS through the CLICK Merchant API."""
