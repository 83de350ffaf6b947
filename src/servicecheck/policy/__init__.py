"""Policy packs: discovery, strict validation and their JSON Schemas."""
