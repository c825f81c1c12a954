"""The sweeper (docs/semantics.md#the-sweeper): periodic repairs that make lost work impossible to
lose for long."""
