"""PAYME GO through the Payme Subscribe API (receipts)."""
