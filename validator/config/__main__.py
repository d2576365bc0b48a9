"""``python -m validator.config``: the configuration table (markdown) the docs hold."""

from validator.config.settings import config_table

print(config_table(), end="")
