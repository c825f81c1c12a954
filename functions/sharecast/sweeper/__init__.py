"""The sweeper (SPEC §6): periodic repairs that make lost work impossible to lose for long."""
