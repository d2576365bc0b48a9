"""Pre-send email validation: will this address hard-bounce?"""

from validator.model import Action, Reason, Status, Verdict

__all__ = ["Action", "Reason", "Status", "Verdict"]
__version__ = "0.1.0"
