"""Terminal output: the embedded default renderer and the CLI's reports (the only rich importer)."""
