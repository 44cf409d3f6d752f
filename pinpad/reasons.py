"""What the library says when it has no answer of the terminal's to give, each sentence a
template written once (`%(name)s` parameters, filled by the code that says it), so that
whoever shows it can recognise it and say it in its reader's language."""

NOT_CONFIGURED = "no PIN pad is configured (PINPAD_URL)"
NOT_TAKEN = "the PIN pad did not take the request: %(error)s"
UNREADABLE = "the answer could not be read"
NOT_OURS = "not our request: %(mismatch)s"
BUSY = "the PIN pad is busy"
NEITHER = "the answer says neither approved nor declined"
SERVING_ANOTHER = "the PIN pad is serving another request"
CANNOT_OPEN = "cannot open %(url)s: %(error)s"
NO_SUCH_ACTION = "Concert E+ has no %(what)s"

ALL = (
    NOT_CONFIGURED,
    NOT_TAKEN,
    UNREADABLE,
    NOT_OURS,
    BUSY,
    NEITHER,
    SERVING_ANOTHER,
    CANNOT_OPEN,
    NO_SUCH_ACTION,
)
