"""Slack: renderers here are pure (Block Kit dicts); only the adapter imports slack_bolt/slack_sdk."""
