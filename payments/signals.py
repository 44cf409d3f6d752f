"""What the payments' core tells whoever listens, without knowing who listens.

The write path sends; the overview's day tallies (payments/services/tallies.py) receive, as
anything added later may. The core then depends on no reader of what it wrote.
"""

from django.dispatch import Signal

# Sent inside the transaction of a change that moved payments' status or fiscal status,
# with `payments`: the rows as written. A receiver that needs the commit waits for it
# (`transaction.on_commit`).
status_moved = Signal()
