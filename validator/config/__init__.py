"""Settings: one frozen dataclass, read once from ``VALIDATOR_*`` variables at start-up
(``Settings.from_env``); after that nothing reads the environment."""

from validator.config.fields import SignalEffect
from validator.config.helo import helo_name
from validator.config.settings import Settings, config_table

__all__ = ["Settings", "SignalEffect", "config_table", "helo_name"]
