"""HUMO payments through the Ingenico PIN pad on a serial line (not built yet)."""
