"""ChipWire: AI-chip news for Discord, Slack and the console."""
