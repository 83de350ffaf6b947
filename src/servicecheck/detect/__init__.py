"""Detection beside the patterns: the learned layer (models shipped in a pack)."""
