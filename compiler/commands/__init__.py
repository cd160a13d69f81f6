"""The CLI's sub-commands, one module each; ``aalp.cli.COMMANDS`` registers them."""
