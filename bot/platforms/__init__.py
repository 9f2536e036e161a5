"""Platform adapters: the only place that imports discord or slack_bolt."""
