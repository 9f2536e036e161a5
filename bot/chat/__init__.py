"""Platform-neutral conversation."""
